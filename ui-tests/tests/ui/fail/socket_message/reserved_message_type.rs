use ori::SocketMessage;

#[derive(serde::Serialize, SocketMessage)]
#[message(type = "pong")]
struct StatusChanged {
    id: u32,
}

fn main() {}
