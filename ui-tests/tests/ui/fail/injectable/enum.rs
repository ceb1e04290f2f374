use ori::prelude::*;

#[injectable]
enum Store {
    Memory,
    Postgres,
}

fn main() {}
