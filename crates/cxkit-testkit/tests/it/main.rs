//! The test kit's fakes as a downstream application uses them, through the `cxkit` facade: one
//! integration-test binary (one link of the generated clients), a module per fake.

mod ejento;
mod ejento_legacy;
mod platform28;
mod proto;
