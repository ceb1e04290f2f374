use std::sync::Mutex;

use ori::prelude::*;

#[injectable]
struct PresenceService {
    #[inject(defualt)]
    online: Mutex<Vec<String>>,
}

fn main() {}
