use ori::prelude::*;

#[injectable]
struct Cache<T> {
    items: Vec<T>,
}

fn main() {}
