//! The performance benchmark (docs/PERFORMANCE.md): `native` is wxmp's core behind hyper (the
//! reference the component is compared with), `driver` runs wxmp-sim,
//! wxmp-host and the reference under wrk and writes the report.

pub mod driver;
pub mod native;
