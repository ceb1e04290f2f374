//! Per-connection state, typed by `TypeId`: what the upgrade handler and the
//! connection guards produced at connect time, what handlers set since
//! ([`Socket::set_state`](crate::Socket::set_state)), and which router-scoped
//! guards refused the connection ([`Refusals`]). A re-authentication
//! replaces the guards' part of it.

use std::any::{Any, TypeId};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// A boxed state value, as a guard or the upgrade handler produces it.
pub(crate) type AnyState = Box<dyn Any + Send + Sync>;

/// A state value shared with the handlers that read it.
type SharedState = Arc<dyn Any + Send + Sync>;

/// The states of one connection, and the routers it may not use.
#[derive(Default)]
pub(crate) struct StateMap {
    entries: Vec<SharedState>,
    /// Boxed: most connections are refused by no guard, and every
    /// connection has a map (24 bytes fewer inline).
    refusals: Option<Box<Refusals>>,
    /// When the guards' verdict expires (the earliest a guard gave).
    pub(crate) expires_at: Option<SystemTime>,
    /// How many times the guards ran again and admitted the connection.
    pub(crate) generation: u64,
}

impl StateMap {
    /// Adds `state`, replacing a state of the same type.
    pub(crate) fn insert(&mut self, state: AnyState) {
        // `()` is always available; storing it would only cost a lookup slot.
        if !(*state).is::<()>() {
            self.put(Arc::from(state));
        }
    }

    fn put(&mut self, state: SharedState) {
        let id = type_of(&state);
        match self.entries.iter_mut().find(|s| type_of(s) == id) {
            Some(slot) => *slot = state,
            None => push_small(&mut self.entries, state),
        }
    }

    /// Removes the state of type `id`, if there is one.
    pub(crate) fn remove(&mut self, id: TypeId) {
        self.entries.retain(|s| type_of(s) != id);
    }

    /// The state of type `T`; `()` is always present.
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        if TypeId::of::<T>() == TypeId::of::<()>() {
            return (Arc::new(()) as SharedState).downcast::<T>().ok();
        }
        let entry = self.entries.iter().find(|s| (***s).is::<T>())?;
        entry.clone().downcast::<T>().ok()
    }

    /// Takes the guards' new verdict (`next`, from running them again):
    /// the states of the types in `guard_states` become `next`'s (removed
    /// where `next` has none), refusals and expiry are `next`'s; what the
    /// upgrade handler and handlers set stays.
    pub(crate) fn absorb(&mut self, next: StateMap, guard_states: impl Iterator<Item = TypeId>) {
        for id in guard_states {
            match next.entries.iter().find(|s| type_of(s) == id) {
                Some(state) => self.put(state.clone()),
                None => self.remove(id),
            }
        }
        self.refusals = next.refusals;
        self.expires_at = next.expires_at;
        self.generation += 1;
    }

    /// Notes that a guard's verdict expires at `at` (the earliest counts).
    pub(crate) fn expire_at(&mut self, at: Option<SystemTime>) {
        if let Some(at) = at {
            self.expires_at = Some(self.expires_at.map_or(at, |current| current.min(at)));
        }
    }

    /// Records that the router-scoped guard at `scope` refused the connection.
    pub(crate) fn refuse(&mut self, scope: GuardScopeBit, reason: String) {
        let refusals = self.refusals.get_or_insert_default();
        refusals.mask |= scope.mask();
        refusals.reasons.retain(|(bit, _)| *bit != scope.0);
        push_small(&mut refusals.reasons, (scope.0, reason.into()));
    }

    /// Forgets a refusal by the router-scoped guard at `scope` (it admitted
    /// the connection on re-authentication).
    pub(crate) fn admit(&mut self, scope: GuardScopeBit) {
        if let Some(refusals) = &mut self.refusals {
            refusals.mask &= !scope.mask();
            refusals.reasons.retain(|(bit, _)| *bit != scope.0);
        }
    }

    /// Why a route that needs the router-scoped guards in `needs` is refused
    /// to this connection; `None` when every one of them admitted it.
    pub(crate) fn refusal(&self, needs: u64) -> Option<&str> {
        let refusals = self.refusals.as_deref()?;
        if refusals.mask & needs == 0 {
            return None;
        }
        refusals.reasons.iter().find(|(bit, _)| needs & (1 << bit) != 0).map(|(_, reason)| &**reason)
    }
}

/// Pushes onto a list that usually holds one or two items for the
/// connection's whole life: the first push allocates room for one (`Vec`
/// would make room for four), an idle connection's size matters.
fn push_small<T>(list: &mut Vec<T>, item: T) {
    if list.capacity() == 0 {
        list.reserve_exact(1);
    }
    list.push(item);
}

/// The type of the value inside (not of the `Arc`, which is `Any` too).
fn type_of(state: &SharedState) -> TypeId {
    (**state).type_id()
}

impl std::fmt::Debug for StateMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMap")
            .field("entries", &self.entries.len())
            .field("refused_scopes", &self.refusals.as_ref().map_or(0, |r| r.mask.count_ones()))
            .finish()
    }
}

/// Which router-scoped guards refused a connection, and why.
#[derive(Debug, Default)]
struct Refusals {
    /// Bit `n`: the router-scoped guard at position `n` refused.
    mask: u64,
    reasons: Vec<(u8, Box<str>)>,
}

/// A router-scoped connection guard's position among its endpoint's (at
/// most 64): a route's needs are a mask of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GuardScopeBit(pub(crate) u8);

impl GuardScopeBit {
    /// Most router-scoped guards an endpoint may have.
    pub(crate) const MAX: usize = 64;

    pub(crate) fn mask(self) -> u64 {
        1 << self.0
    }
}

/// A connection's [`StateMap`], shared by its handles: read by every message
/// that asks for a state, written by handlers and re-authentication.
#[derive(Debug, Default)]
pub(crate) struct ConnectionStates(RwLock<StateMap>);

impl ConnectionStates {
    pub(crate) fn new(states: StateMap) -> ConnectionStates {
        ConnectionStates(RwLock::new(states))
    }

    /// Reads the map (a panic while it was written leaves it as it was).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&StateMap) -> R) -> R {
        f(&self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Changes the map.
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut StateMap) -> R) -> R {
        f(&mut self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// The state of type `T`.
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.read(StateMap::get::<T>)
    }

    /// Sets the state of type `T`, replacing the one there.
    pub(crate) fn set<T: Send + Sync + 'static>(&self, value: T) -> Arc<T> {
        let value = Arc::new(value);
        if TypeId::of::<T>() != TypeId::of::<()>() {
            self.write(|map| map.put(value.clone()));
        }
        value
    }

    /// Changes the state of type `T` (a copy, which then replaces it); `false`
    /// when there is none.
    pub(crate) fn update<T: Clone + Send + Sync + 'static>(&self, change: impl FnOnce(&mut T)) -> bool {
        self.write(|map| {
            let Some(mut value) = map.get::<T>().map(|v| T::clone(&v)) else { return false };
            change(&mut value);
            if TypeId::of::<T>() != TypeId::of::<()>() {
                map.put(Arc::new(value));
            }
            true
        })
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
        assert_eq!(map.get::<u32>().as_deref(), Some(&7));
        assert_eq!(map.entries.len(), 1);
        assert_eq!(StateKey::of::<()>(), None);
    }

    #[test]
    fn a_state_of_the_same_type_replaces_the_old_one() {
        let states = ConnectionStates::default();
        states.set(1u32);
        states.set(2u32);
        states.set(String::from("x"));
        assert_eq!(states.get::<u32>().as_deref(), Some(&2));
        states.write(|map| map.remove(TypeId::of::<u32>()));
        assert!(states.get::<u32>().is_none());
        assert_eq!(states.get::<String>().as_deref().map(String::as_str), Some("x"));
    }

    #[test]
    fn refusals_answer_only_the_routes_that_need_the_refusing_guard() {
        let mut map = StateMap::default();
        map.refuse(GuardScopeBit(3), "admins only".to_owned());
        assert_eq!(map.refusal(0), None);
        assert_eq!(map.refusal(GuardScopeBit(1).mask()), None);
        assert_eq!(map.refusal(GuardScopeBit(3).mask() | 1), Some("admins only"));
        map.admit(GuardScopeBit(3));
        assert_eq!(map.refusal(GuardScopeBit(3).mask()), None);
    }
}
