use ori::SocketMessage;

#[derive(serde::Serialize, SocketMessage)]
#[message(type = "monitor.statusChanged")]
struct StatusChanged {
    id: u32,
}

#[derive(serde::Serialize, SocketMessage)]
#[message(type = "page.items")]
struct Page<T: serde::Serialize> {
    items: Vec<T>,
}

fn main() {
    assert_eq!(<StatusChanged as ori::SocketMessage>::TYPE, "monitor.statusChanged");
    assert_eq!(<Page<u8> as ori::SocketMessage>::TYPE, "page.items");
    let _ = StatusChanged { id: 1 }.id;
}
