use ori::SocketMessage;

#[derive(serde::Serialize, SocketMessage)]
struct StatusChanged {
    id: u32,
}

fn main() {}
