use ori::layer::{LayerMessage, Next};
use ori::{SocketContext, SocketRoutes};

fn main() {
    let _ = SocketRoutes::new()
        .route("hello", |_ctx: SocketContext| async {})
        .layer(|message: LayerMessage, next: Next| async move { next.run(message).await });
}
