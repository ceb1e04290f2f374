use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ori::AppContext;
use ori::prelude::*;

#[derive(Clone)]
struct Settings {
    limit: usize,
}

#[injectable]
struct Store;

#[injectable]
struct Named {
    store: Arc<Store>,
    ctx: AppContext,
    #[inject(default)]
    cache: Mutex<HashMap<String, u32>>,
    #[inject(value)]
    settings: Settings,
}

#[injectable]
struct Tuple(Arc<Store>, #[inject(default)] Mutex<Vec<u8>>);

#[injectable]
struct Unit;

fn main() {
    let _ = |n: Named, t: Tuple| (n.store, n.ctx, n.cache, n.settings.limit, t.0, t.1, Unit);
}
