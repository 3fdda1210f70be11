//! The one secret type every cxkit crate uses for passwords, tokens, API keys, LSIDs and emailed
//! codes.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// A secret value: a password, a token, an API key, a login session id, an emailed code.
///
/// It has no `Display` and no `Serialize`, its `Debug` prints `Secret(** redacted **)`, and its
/// memory is zeroized when it is dropped. The only way to read it is [`Secret::expose`], which
/// makes every place that does so easy to find in review.
///
/// Clones share one zeroized buffer. While any clone is alive, the value is in a process-wide
/// registry of live secrets ([`scrub_live_secrets`]) that error mapping consults, so a server
/// echoing it back cannot get it printed even through a `From` conversion that has no session
/// at hand; the registry holds it weakly, so a dropped secret leaves it.
#[derive(Clone)]
pub struct Secret(Arc<SecretString>);

/// Values shorter than this are not registered: replacing a three-letter string in every error
/// text of the process would mangle unrelated words. The facade still scrubs short secrets it
/// has just sent (a PIN-like code, a short password) from the errors of its own calls.
pub const MIN_REGISTERED_LEN: usize = 6;

/// The live secrets, held weakly; pruned of dropped ones as it grows.
static LIVE: Mutex<Registry> = Mutex::new(Registry {
    entries: Vec::new(),
    prune_at: 64,
});

struct Registry {
    entries: Vec<Weak<SecretString>>,
    prune_at: usize,
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

fn register(secret: &Arc<SecretString>) {
    if secret.expose_secret().len() < MIN_REGISTERED_LEN {
        return;
    }
    let mut live = registry();
    live.entries.push(Arc::downgrade(secret));
    // Amortised pruning: each prune at least halves the work per registration that follows.
    if live.entries.len() >= live.prune_at {
        live.entries.retain(|w| w.strong_count() > 0);
        live.prune_at = (live.entries.len() * 2).max(64);
    }
}

/// Replaces every live [`Secret`]'s value (of at least [`MIN_REGISTERED_LEN`] bytes) in `text`
/// with [`crate::redact::REDACTED`], as it is and as JSON would escape it (a value with `"`,
/// `\` or a control character, echoed by a server inside a JSON string, reaches the text
/// escaped). Longer values go first, so a secret that contains another is removed whole. Cheap
/// when `text` is short or no secret is alive; meant for error paths.
pub fn scrub_live_secrets(text: &str) -> String {
    // The registry stays locked while the values are read: every strong reference taken here
    // is dropped before another thread can look, so a secret whose last clone its owner has
    // dropped is gone for every later call (a concurrent scrub cannot keep it alive).
    let registry = LiveSecrets::now();
    let live: Vec<Arc<SecretString>> = registry.upgraded().collect();
    // Escaped copies are made only of values that need escaping, and zeroized when dropped.
    let escaped: Vec<Zeroizing<String>> = live
        .iter()
        .filter_map(|s| json_escaped(s.expose_secret()))
        .map(Zeroizing::new)
        .collect();
    let mut values: Vec<&str> = live
        .iter()
        .map(|s| s.expose_secret())
        .chain(escaped.iter().map(|e| e.as_str()))
        .filter(|v| text.contains(*v))
        .collect();
    if values.is_empty() {
        return text.to_owned();
    }
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = text.to_owned();
    for value in values {
        out = out.replace(value, crate::redact::REDACTED);
    }
    out
}

/// The live secrets at one moment, to look for in several texts with one look at the registry.
/// It holds the registry's lock (see [`scrub_live_secrets`]): keep it for one short scan, and
/// create no [`Secret`] while it is alive.
pub(crate) struct LiveSecrets(std::sync::MutexGuard<'static, Registry>);

impl LiveSecrets {
    pub(crate) fn now() -> Self {
        LiveSecrets(registry())
    }

    /// The secrets still alive, each held only while the caller holds it (and this, the lock).
    fn upgraded(&self) -> impl Iterator<Item = Arc<SecretString>> + '_ {
        self.0.entries.iter().filter_map(Weak::upgrade)
    }

    /// Whether `text` holds one of them as it is.
    pub(crate) fn found_in(&self, text: &str) -> bool {
        self.upgraded().any(|s| text.contains(s.expose_secret()))
    }
}

/// Replaces `value` in `text`, as it is and JSON-escaped, with [`crate::redact::REDACTED`]:
/// for a secret known to the caller (one just sent) that may be too short to be registered.
pub fn scrub_secret(text: &str, value: &str) -> String {
    if value.is_empty() {
        return text.to_owned();
    }
    let mut out = text.to_owned();
    if let Some(escaped) = json_escaped(value).map(Zeroizing::new) {
        out = out.replace(escaped.as_str(), crate::redact::REDACTED);
    }
    out.replace(value, crate::redact::REDACTED)
}

/// `value` as `serde_json` writes it inside a string (`"` and `\` escaped, control characters
/// as `\n`-style or `\u00XX` escapes), or `None` when that is `value` itself.
fn json_escaped(value: &str) -> Option<String> {
    if !value.chars().any(|c| c == '"' || c == '\\' || c < ' ') {
        return None;
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    Some(out)
}

impl Secret {
    /// Wraps a value. The `String` is moved in, so no unzeroized copy is left behind by this call.
    pub fn new(value: impl Into<String>) -> Self {
        let inner = Arc::new(SecretString::from(value.into()));
        register(&inner);
        Secret(inner)
    }

    /// Reads the secret. Call it only where the value goes on the wire or into a store.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether `other` is this very secret (the same allocation), not merely an equal value.
    pub(crate) fn is_same(&self, other: &Secret) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Whether the secret is the empty string (a configuration mistake worth reporting).
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(** redacted **)")
    }
}

impl PartialEq for Secret {
    /// Compares in time independent of where the first difference is, so a comparison cannot be
    /// used as a timing oracle.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.expose().as_bytes(), other.expose().as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for Secret {}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("canary-7f3a");
        assert_eq!(format!("{s:?}"), "Secret(** redacted **)");
        assert_eq!(
            format!("{:#?}", Some(&s)),
            "Some(\n    Secret(** redacted **),\n)"
        );
        assert_eq!(s.expose(), "canary-7f3a");
    }

    /// Other threads scrub all the while (as the tests around this one do): none of them may
    /// keep a dropped secret alive for a later call.
    #[test]
    fn live_secrets_are_scrubbed_until_dropped() {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let scrubbers: Vec<_> = (0..2)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let _ = scrub_live_secrets("live-canary-51e");
                        let _ = LiveSecrets::now().found_in("live-canary-51e");
                    }
                })
            })
            .collect();
        for _ in 0..200 {
            let s = Secret::new("live-canary-51e");
            drop(s);
            assert_eq!(
                scrub_live_secrets("echo live-canary-51e!"),
                "echo live-canary-51e!"
            );
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for scrubber in scrubbers {
            scrubber.join().unwrap();
        }
        let s = Secret::new("live-canary-51e");
        let copy = s.clone();
        drop(s);
        assert_eq!(
            scrub_live_secrets("echo live-canary-51e!"),
            "echo REDACTED!"
        );
        drop(copy);
        assert_eq!(
            scrub_live_secrets("echo live-canary-51e!"),
            "echo live-canary-51e!"
        );
        let _short = Secret::new("abc");
        assert_eq!(scrub_live_secrets("abc"), "abc");
    }

    /// A value JSON would escape is scrubbed in both forms (serde_json's escaping is the
    /// reference: the facade re-serializes bodies with it).
    #[test]
    fn escaped_forms_of_live_secrets_are_scrubbed() {
        let s = Secret::new("pw\"with\\odd\nchars\u{1}!");
        let as_json = serde_json::to_string(s.expose()).unwrap();
        let inner = &as_json[1..as_json.len() - 1];
        assert_eq!(json_escaped(s.expose()).as_deref(), Some(inner));
        assert_eq!(scrub_live_secrets(&format!("a {inner} b")), "a REDACTED b");
        assert_eq!(
            scrub_live_secrets(&format!("a {} b", s.expose())),
            "a REDACTED b"
        );
        assert_eq!(
            scrub_secret(&format!("x{inner}y"), s.expose()),
            "xREDACTEDy"
        );
        assert_eq!(json_escaped("plain-value"), None);
    }

    #[test]
    fn equality_compares_values() {
        assert_eq!(Secret::new("a"), Secret::new("a"));
        assert_ne!(Secret::new("a"), Secret::new("ab"));
        assert_ne!(Secret::new("ab"), Secret::new("ac"));
    }
}
