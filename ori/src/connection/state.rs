//! Per-connection state produced at connect time (upgrade handler data and
//! connection guard states), typed by `TypeId`.

use std::any::{Any, TypeId};

/// A boxed state value.
pub(crate) type AnyState = Box<dyn Any + Send + Sync>;

/// The states of one connection; fixed once the guards have run.
#[derive(Default)]
pub(crate) struct StateMap {
    entries: Vec<AnyState>,
}

impl StateMap {
    pub(crate) fn insert(&mut self, state: AnyState) {
        // `()` is always available; storing it would only cost a lookup slot.
        if !(*state).is::<()>() {
            self.entries.push(state);
        }
    }

    /// The state of type `T`; `()` is always present.
    pub(crate) fn get<T: 'static>(&self) -> Option<&T> {
        if let Some(unit) = (&() as &dyn Any).downcast_ref::<T>() {
            return Some(unit);
        }
        self.entries.iter().find_map(|s| s.downcast_ref::<T>())
    }
}

impl std::fmt::Debug for StateMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMap").field("entries", &self.entries.len()).finish()
    }
}

/// A state type a handler asks for, checked against the producers at start-up.
/// Not public API; used by generated code.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateKey {
    pub(crate) id: TypeId,
    pub(crate) name: &'static str,
}

impl StateKey {
    /// The key of `T`, or `None` for `()` (which needs no producer).
    pub fn of<T: 'static>() -> Option<StateKey> {
        (TypeId::of::<T>() != TypeId::of::<()>())
            .then(|| StateKey { id: TypeId::of::<T>(), name: std::any::type_name::<T>() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_is_always_present() {
        let mut map = StateMap::default();
        assert!(map.get::<()>().is_some());
        assert!(map.get::<u32>().is_none());
        map.insert(Box::new(7u32));
        map.insert(Box::new(()));
        assert_eq!(map.get::<u32>(), Some(&7));
        assert_eq!(map.entries.len(), 1);
        assert_eq!(StateKey::of::<()>(), None);
    }
}
