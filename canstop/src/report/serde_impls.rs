//! The `serde` feature's hand-written parts: what a derive cannot do.
//!
//! - [`SessionKind`] holds `'static` strings (its name and file, compared by address on the
//!   session hot path). It serializes as `{"name", "file", "line", "column"}`; deserializing
//!   one *interns* its two strings: each distinct text is leaked once and reused by every
//!   later deserialization, so that reading reports in a loop retains only one copy of each
//!   name and file ever seen.
//! - [`MainExitCode`] holds a [`std::process::ExitCode`], which cannot be read back: it
//!   serializes as the `u8` it was made from ([`MainExitCode::number`]), and deserializes
//!   with `ExitCode::from`.
//! - Durations use serde's own format, `{"secs": u64, "nanos": u32}`: exact, so that a
//!   report read back is equal to the one written.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::report::MainExitCode;
use crate::session::kind::SessionKind;
use crate::sync::locking::lock;

#[derive(Serialize)]
struct KindRef<'a> {
    name: &'a str,
    file: &'a str,
    line: u32,
    column: u32,
}

#[derive(Deserialize)]
struct KindOwned {
    name: String,
    file: String,
    line: u32,
    column: u32,
}

impl Serialize for SessionKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        KindRef {
            name: self.name(),
            file: self.file(),
            line: self.line(),
            column: self.column(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SessionKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let kind = KindOwned::deserialize(deserializer)?;
        Ok(SessionKind::new(
            intern(kind.name),
            intern(kind.file),
            kind.line,
            kind.column,
        ))
    }
}

/// `text` as a `'static` str: leaked the first time it is seen, reused afterwards.
fn intern(text: String) -> &'static str {
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut seen = lock(SEEN.get_or_init(Mutex::default));
    if let Some(known) = seen.get(text.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    seen.insert(leaked);
    leaked
}

impl Serialize for MainExitCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.number())
    }
}

impl<'de> Deserialize<'de> for MainExitCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(std::process::ExitCode::from(u8::deserialize(
            deserializer,
        )?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_reads_back_equal_and_interned() {
        let kind = SessionKind::new("upload", "src/main.rs", 14, 5);
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(
            json,
            r#"{"name":"upload","file":"src/main.rs","line":14,"column":5}"#
        );
        let first: SessionKind = serde_json::from_str(&json).unwrap();
        let second: SessionKind = serde_json::from_str(&json).unwrap();
        assert_eq!(first, kind);
        assert!(
            std::ptr::eq(first.name(), second.name()),
            "the same text is leaked once"
        );
    }

    #[test]
    fn an_exit_code_reads_back_equal() {
        for n in [0, 1, 3, 77, 255] {
            let code = MainExitCode(std::process::ExitCode::from(n));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, n.to_string());
            assert_eq!(serde_json::from_str::<MainExitCode>(&json).unwrap(), code);
        }
    }
}
