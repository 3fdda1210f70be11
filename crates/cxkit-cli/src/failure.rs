//! How the command line fails: one line on stderr, and an exit code per kind of failure, so a
//! script can tell "log in again" from "try later" without reading the text.

use std::fmt;

/// The exit codes, documented in `cxkit --help` and the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Something else failed (reading a file, writing the output).
    Other = 1,
    /// The command line itself is wrong (clap's own code for usage errors).
    Usage = 2,
    /// The session is over: log in again.
    Reauth = 3,
    /// The server rejected the credentials: check the password, code, token or key.
    Credentials = 4,
    /// A network failure or a server error that may pass: retry later.
    Transient = 5,
    /// cxkit is misconfigured (no login for the profile, a bad base URL, an unsafe store).
    Config = 6,
    /// The API answered with an error status.
    Api = 7,
    /// The server's answer could not be read.
    Decode = 8,
    /// Interrupted (Ctrl-C).
    Interrupted = 130,
}

/// The exit-code table `--help` and the README show.
pub const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    another failure (a file could not be read, the output could not be written)
  2    usage error (an unknown command, a missing or malformed option)
  3    the session is over: log in again (`cxkit login ...`)
  4    the credentials were rejected (password, emailed code, personal access token, API key)
  5    a transient failure (network, timeout, 429 or 5xx): retry later
  6    configuration error (no login for the profile, a bad base URL, an unsafe config directory)
  7    the API answered with an error status
  8    the server's answer could not be read (or was larger than allowed)
  130  interrupted (Ctrl-C)";

/// What a "log in again" failure says, when the system is not known here.
const REAUTH_HINT: &str = "; run `cxkit login ...` again";

/// A failure: what to print, and how to exit.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Failure::new(Exit::Config, message)
    }

    /// A refused credential the profile stored (Proto's PAT, Platform28's API key or login
    /// session) names the `login` command of its system that fixes it, where the generic hint
    /// says only `cxkit login ...`. Any other failure is kept as it is.
    pub fn naming_login(mut self, command: &str) -> Self {
        if matches!(self.exit, Exit::Reauth | Exit::Credentials) {
            let message = self
                .message
                .strip_suffix(REAUTH_HINT)
                .unwrap_or(&self.message);
            self.message = format!("{message}; run `{command}`");
        }
        self
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(Exit::Usage, message)
    }

    pub fn other(message: impl Into<String>) -> Self {
        Failure::new(Exit::Other, message)
    }

    pub fn interrupted() -> Self {
        Failure::new(Exit::Interrupted, "interrupted")
    }

    /// The one line printed on stderr: newlines folded, and every live secret of the process
    /// (the session's tokens, a PAT, an API key) replaced, whatever the text came from.
    pub fn line(&self) -> String {
        let text = self
            .message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        format!("cxkit: {}", cxkit_auth::scrub_live_secrets(&text))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<cxkit::Error> for Failure {
    fn from(e: cxkit::Error) -> Self {
        let exit = match &e {
            cxkit::Error::ReauthRequired { .. } => Exit::Reauth,
            cxkit::Error::InvalidCredentials { .. } => Exit::Credentials,
            cxkit::Error::Transient { .. } => Exit::Transient,
            cxkit::Error::Config { .. } => Exit::Config,
            cxkit::Error::Api { .. } => Exit::Api,
            cxkit::Error::Decode { .. } | cxkit::Error::ResponseTooLarge { .. } => Exit::Decode,
            _ => Exit::Other,
        };
        let hint = match exit {
            Exit::Reauth => REAUTH_HINT,
            _ => "",
        };
        Failure::new(exit, format!("{e}{hint}"))
    }
}

impl From<cxkit_auth::AuthError> for Failure {
    fn from(e: cxkit_auth::AuthError) -> Self {
        cxkit::Error::from(e).into()
    }
}
