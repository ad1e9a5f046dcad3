//! What a session is, for counting: its name and the place it is defined.

use std::fmt;
use std::panic::Location;

use crate::report::Escaped;

/// The kind of a session: a name and a source location.
///
/// Sessions are counted per kind in the [`Report`](crate::Report). `#[session]` fills the kind
/// in from the function; [`Session::new`](crate::Session::new) takes the name and records the
/// caller's location with `#[track_caller]`.
///
/// ```
/// let kind = canstop::SessionKind::here("upload");
/// assert_eq!(kind.name(), "upload");
/// assert!(kind.to_string().starts_with("upload at "));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionKind {
    name: &'static str,
    file: &'static str,
    line: u32,
    column: u32,
}

impl SessionKind {
    /// A kind with an explicit location (what `#[session]` generates).
    pub const fn new(name: &'static str, file: &'static str, line: u32, column: u32) -> Self {
        Self {
            name,
            file,
            line,
            column,
        }
    }

    /// A kind located at the caller.
    #[track_caller]
    pub fn here(name: &'static str) -> Self {
        let location = Location::caller();
        Self::new(name, location.file(), location.line(), location.column())
    }

    /// A kind of canstop's own (an HTTP connection, an HTTP/2 stream), located in canstop's
    /// source as `canstop/src/..` (a path dependency) or `canstop-0.1.0/src/..` (from the
    /// registry): not the absolute path of the directory canstop was built from, which is
    /// what `file!()` gives outside the user's workspace.
    #[cfg(feature = "hyper")]
    #[track_caller]
    pub(crate) fn of_canstop(name: &'static str) -> Self {
        let location = Location::caller();
        Self::new(
            name,
            from_crate_dir(location.file()),
            location.line(),
            location.column(),
        )
    }

    /// Equality, comparing the `'static` strings by address first (the common case: the
    /// same call site or the same `#[session]` fn), by content only when that fails.
    #[inline]
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        self.same_place(other) || self.equal_text(other)
    }

    /// Equality by the strings' addresses: `true` only if equal, but two equal kinds whose
    /// strings are copies of each other are told apart.
    #[inline]
    pub(crate) fn same_place(&self, other: &Self) -> bool {
        std::ptr::eq(self.name, other.name)
            && std::ptr::eq(self.file, other.file)
            && self.line == other.line
            && self.column == other.column
    }

    #[cold]
    #[inline(never)]
    fn equal_text(&self, other: &Self) -> bool {
        self == other
    }

    /// The name (the fn's name for `#[session]`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The source file.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The line in [`file`](Self::file).
    pub fn line(&self) -> u32 {
        self.line
    }

    /// The column in [`file`](Self::file).
    pub fn column(&self) -> u32 {
        self.column
    }
}

impl fmt::Display for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {}:{}",
            Escaped(self.name),
            Escaped(self.file),
            self.line
        )
    }
}

/// `file` from its crate's directory on: `/home/u/.cargo/registry/src/x/canstop-0.1.0/src/a.rs`
/// is `canstop-0.1.0/src/a.rs`; a relative path stays as it is.
#[cfg(any(feature = "hyper", test))]
fn from_crate_dir(file: &'static str) -> &'static str {
    let crate_dir = file
        .rfind("/src/")
        .and_then(|src| file[..src].rfind('/').map(|slash| slash + 1))
        .unwrap_or(0);
    &file[crate_dir..]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// canstop's own kinds name canstop's source from its crate's directory, whatever
    /// directory it was built from (a review found an absolute build path in the reports of
    /// programs outside canstop's workspace).
    #[test]
    fn canstops_own_kinds_are_located_from_its_crate_directory() {
        #[cfg(feature = "hyper")]
        {
            let kind = SessionKind::of_canstop("probe");
            assert_eq!(kind.file, "canstop/src/session/kind.rs", "{kind}");
        }
        let registry = "/home/u/.cargo/registry/src/index-1/canstop-0.1.0/src/http/connection.rs";
        assert_eq!(
            from_crate_dir(registry),
            "canstop-0.1.0/src/http/connection.rs"
        );
        assert_eq!(
            from_crate_dir("/work/main/canstop/src/http/connection.rs"),
            "canstop/src/http/connection.rs"
        );
        assert_eq!(from_crate_dir("src/main.rs"), "src/main.rs");
    }
}
