//! Flows: WeChat operations that need the outside world, written against the
//! `ports` traits. They decide with the sans-IO `core` and only ask the ports
//! to store, fetch, wait or draw randomness, so they run natively in tests
//! with in-memory ports and in the component with the Spin adapters.

pub mod allow_list;
pub mod credentials;
pub mod diagnose;
pub mod gateway;
pub mod jssdk;
pub mod login;
pub mod messages;
pub mod send;
pub mod session;
pub mod status;
pub mod store;
pub mod upstream;
pub mod userinfo;
