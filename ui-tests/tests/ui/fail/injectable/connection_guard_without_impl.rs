use ori::prelude::*;

#[connection_guard]
struct TokenGuard;

fn main() {}
