//! What a document is, without any IO: names, server-side metadata, lifetimes, secrets, text
//! edits, the bounds every update passes before yrs sees it, and the calc model.

pub mod calc;
pub mod edit;
pub mod guard;
pub mod history;
pub mod lifetime;
pub mod meta;
pub mod name;
pub mod nesting;
pub mod random;
pub mod restore;
pub mod secret;
