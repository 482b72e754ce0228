//! `fermyon:spin/variables`: a component reads its own variables (rendered at
//! start-up from the manifest and application variables, see
//! [`crate::variables`]), never another component's.

use crate::bindings::fermyon::spin::variables;
use crate::state::HostState;

impl variables::Host for HostState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, variables::Error>> {
        Ok(match self.shared.variables.get(&name) {
            Some(v) => Ok(v.clone()),
            None if crate::manifest::check_variable_name(&name).is_err() => {
                Err(variables::Error::InvalidName(name))
            }
            None => Err(variables::Error::Undefined(format!(
                "no variable {name:?} for component {}",
                self.shared.id
            ))),
        })
    }
}
