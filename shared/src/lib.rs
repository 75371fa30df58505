//! ThiĐua's shared core: the domain model, its validation rules and the sync protocol.
//!
//! Pure and wasm-clean: no I/O, no clock, no randomness. The tablet and the server call the
//! same functions, so a change valid offline is valid on the server and both compute the same.

pub mod access;
pub mod aggregate;
pub mod ballot;
pub mod board;
pub mod casebook;
pub mod changes_file;
pub mod collation;
pub mod correction;
pub mod covenant;
pub mod demo;
pub mod documents;
pub mod error;
pub mod hlc;
pub mod idmap;
pub mod limits;
pub mod lot;
pub mod model;
pub mod mutation;
pub mod overview;
pub mod points;
pub mod printout;
pub mod protocol;
pub mod report;
pub mod round;
pub mod rules;
pub mod sheet;
mod tagged;
pub mod tally;
#[cfg(test)]
mod testing;
pub mod transfer;
pub mod tree;
pub mod world;

pub use error::DomainError;
pub use hlc::Hlc;
pub use model::Record;
pub use mutation::{Mutation, Op};
pub use points::Points;
