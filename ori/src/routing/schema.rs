//! The JSON Schemas of the types a route reads and replies: [`SchemaSet`]
//! collects them (with the feature `schema`, through `schemars`), and
//! [`SchemaFn`] is how a route or a push says how to make its own.
//!
//! Generated code asks for a type's schema through [`SchemaOf`] and two
//! traits: [`ViaJsonSchema`], implemented (with the feature) for types that
//! implement `schemars::JsonSchema`, is picked first; [`ViaNothing`] answers
//! "no schema" for any other type. So a type without `JsonSchema` is
//! described by its Rust name only, never a compile error.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde_json::Value;

/// Makes the schema of one type in `set` (a `{"$ref": ...}` to it for named
/// types), or `None` where the type has none.
pub type SchemaFn = fn(&mut SchemaSet) -> Option<Value>;

/// The schemas of a description: each named type once, under `$defs`, and
/// referred to as `#/definitions/Name` (two types of one name get distinct,
/// deterministic names: `Name`, `Name2`).
pub struct SchemaSet {
    #[cfg(feature = "schema")]
    generator: schemars::SchemaGenerator,
}

impl Default for SchemaSet {
    fn default() -> Self {
        SchemaSet::new()
    }
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet").finish_non_exhaustive()
    }
}

impl SchemaSet {
    /// An empty set (JSON Schema draft 7, which AsyncAPI documents embed).
    pub fn new() -> SchemaSet {
        SchemaSet {
            #[cfg(feature = "schema")]
            generator: schemars::generate::SchemaSettings::draft07().into_generator(),
        }
    }

    /// The schema of `T`, its named parts added to the set.
    #[cfg(feature = "schema")]
    pub fn schema_of<T: schemars::JsonSchema>(&mut self) -> Value {
        self.generator.subschema_for::<T>().to_value()
    }

    /// The named schemas collected so far, by name.
    pub fn into_definitions(self) -> BTreeMap<String, Value> {
        #[cfg(feature = "schema")]
        {
            let mut generator = self.generator;
            generator.take_definitions(true).into_iter().collect()
        }
        #[cfg(not(feature = "schema"))]
        BTreeMap::new()
    }
}

/// The [`SchemaFn`] of a route or push without a schema: what the macros
/// generate when the feature `schema` is off (no function per route).
#[doc(hidden)]
pub fn no_schema(_: &mut SchemaSet) -> Option<Value> {
    None
}

/// Stands for the type `T` when generated code asks for its schema.
#[doc(hidden)]
pub struct SchemaOf<T>(PhantomData<fn() -> T>);

impl<T> std::fmt::Debug for SchemaOf<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::any::type_name::<T>())
    }
}

impl<T> SchemaOf<T> {
    /// The value to call [`ViaJsonSchema::schema`] or [`ViaNothing::schema`] on.
    pub const NEW: SchemaOf<T> = SchemaOf(PhantomData);
}

/// The schema of a type that implements `schemars::JsonSchema` (feature `schema`).
#[doc(hidden)]
pub trait ViaJsonSchema {
    /// The schema.
    fn schema(&self, set: &mut SchemaSet) -> Option<Value>;
}

#[cfg(feature = "schema")]
impl<T: schemars::JsonSchema> ViaJsonSchema for SchemaOf<T> {
    fn schema(&self, set: &mut SchemaSet) -> Option<Value> {
        Some(set.schema_of::<T>())
    }
}

/// No schema: the type does not implement `schemars::JsonSchema`, or the
/// feature `schema` is off.
#[doc(hidden)]
pub trait ViaNothing {
    /// `None`.
    fn schema(&self, set: &mut SchemaSet) -> Option<Value>;
}

impl<T> ViaNothing for &SchemaOf<T> {
    fn schema(&self, _: &mut SchemaSet) -> Option<Value> {
        None
    }
}
