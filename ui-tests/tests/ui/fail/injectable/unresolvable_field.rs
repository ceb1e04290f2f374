use ori::prelude::*;

#[injectable]
struct PresenceService {
    timeout_seconds: u64,
}

fn main() {}
