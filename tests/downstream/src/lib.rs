//! A stand-in for an application built on `cxkit`: one function of "business logic" that its
//! tests (in `tests/`) exercise against `cxkit-testkit`'s fakes.

use std::time::Duration;

use cxkit::{CallOptions, Ejento};

/// The signed-in user's e-mail, asked with a deadline of its own: a lookup on a page load may
/// not wait as long as the session's other calls.
pub async fn whoami(ejento: &Ejento, deadline: Duration) -> cxkit::Result<Option<String>> {
    let me = ejento
        .with_options(CallOptions::new().timeout(deadline))
        .platform()
        .get_current_user()
        .send()
        .await?
        .into_inner();
    Ok(me.data.and_then(|user| user.email))
}
