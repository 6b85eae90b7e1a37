//! Incident data: the API clients (Graph, Defender XDR), the domain model, the encrypted local
//! cache, sync, and export. Uses a signed-in session; never handles a credential itself.

pub mod api;
pub mod bulk;
pub mod cache;
pub mod changes;
pub mod export;
pub mod model;
pub mod portal;
pub mod queue;
pub mod report;
pub mod sync;
