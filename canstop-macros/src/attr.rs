//! Step 1a: the attribute's options, `#[service(name = "x", timeout = "10s")]`, parsed into
//! typed values.
//!
//! Every option is `key = literal`. Values are checked here as far as they can be on their
//! own (a duration parses, a flavor or a restart policy is known, a count is positive, a
//! backoff's first delay is not above its cap); what depends on the other options or on the fn
//! is checked in [`crate::valid`]. Every problem is recorded and parsing
//! goes on, so that the user sees all of them at once; an option in error is left unset.

use std::time::Duration;

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Path, Token};

use crate::duration::parse_duration;
use crate::error::Errors;

/// The four macros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Macro {
    Main,
    Service,
    Session,
    Test,
}

impl Macro {
    /// How the attribute is written, for messages.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Self::Main => "#[canstop::main]",
            Self::Service => "#[service]",
            Self::Session => "#[session]",
            Self::Test => "#[canstop::test]",
        }
    }

    /// The options it accepts, in the order its docs list them.
    fn options(self) -> &'static [Key] {
        match self {
            Self::Main => &[
                Key::Timeout,
                Key::DrainDelay,
                Key::Health,
                Key::Flavor,
                Key::WorkerThreads,
                Key::Strategy,
                Key::StopOrder,
                Key::Crate,
            ],
            Self::Service => &[
                Key::Name,
                Key::Timeout,
                Key::Restart,
                Key::MaxRestarts,
                Key::Within,
                Key::Backoff,
                Key::Needs,
                Key::ReadyTimeout,
                Key::Strategy,
                Key::StopOrder,
                Key::Crate,
            ],
            Self::Session => &[Key::Name, Key::Crate],
            Self::Test => &[
                Key::Flavor,
                Key::WorkerThreads,
                Key::StartPaused,
                Key::Timeout,
                Key::Strategy,
                Key::StopOrder,
                Key::Crate,
            ],
        }
    }
}

/// Every option key any macro knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Name,
    Timeout,
    Flavor,
    WorkerThreads,
    StartPaused,
    Crate,
    Restart,
    MaxRestarts,
    Within,
    Backoff,
    Strategy,
    Needs,
    ReadyTimeout,
    StopOrder,
    DrainDelay,
    Health,
}

const ALL_KEYS: [Key; 16] = [
    Key::Name,
    Key::Timeout,
    Key::Flavor,
    Key::WorkerThreads,
    Key::StartPaused,
    Key::Crate,
    Key::Restart,
    Key::MaxRestarts,
    Key::Within,
    Key::Backoff,
    Key::Strategy,
    Key::Needs,
    Key::ReadyTimeout,
    Key::StopOrder,
    Key::DrainDelay,
    Key::Health,
];

impl Key {
    fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Timeout => "timeout",
            Self::Flavor => "flavor",
            Self::WorkerThreads => "worker_threads",
            Self::StartPaused => "start_paused",
            Self::Crate => "crate",
            Self::Restart => "restart",
            Self::MaxRestarts => "max_restarts",
            Self::Within => "within",
            Self::Backoff => "backoff",
            Self::Strategy => "strategy",
            Self::Needs => "needs",
            Self::ReadyTimeout => "ready_timeout",
            Self::StopOrder => "stop_order",
            Self::DrainDelay => "drain_delay",
            Self::Health => "health",
        }
    }

    fn from_ident(ident: &Ident) -> Option<Self> {
        let text = ident.unraw().to_string();
        ALL_KEYS.into_iter().find(|key| key.as_str() == text)
    }

    /// How a value is written, for messages.
    fn example(self) -> &'static str {
        match self {
            Self::Name => "name = \"acceptor\"",
            Self::Timeout => "timeout = \"10s\"",
            Self::Flavor => "flavor = \"current_thread\"",
            Self::WorkerThreads => "worker_threads = 4",
            Self::StartPaused => "start_paused = true",
            Self::Crate => "crate = \"::my_crate::canstop\"",
            Self::Restart => "restart = \"on-failure\"",
            Self::MaxRestarts => "max_restarts = 5",
            Self::Within => "within = \"1m\"",
            Self::Backoff => "backoff = \"100ms..30s\"",
            Self::Strategy => "strategy = \"one_for_all\"",
            Self::Needs => "needs = [\"db\", \"cache\"]",
            Self::ReadyTimeout => "ready_timeout = \"5s\"",
            Self::StopOrder => "stop_order = \"reverse\"",
            Self::DrainDelay => "drain_delay = \"5s\"",
            Self::Health => "health = \"0.0.0.0:8081\"",
        }
    }
}

/// Which runtime `#[canstop::main]` and `#[canstop::test]` build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

/// `restart = "..."` on a `#[service]`: what its body's end leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Restart {
    /// `"never"` (the default): a failure escalates.
    Never,
    /// `"on-failure"`: a new instance after an `Err` or a panic, not after an `Ok`.
    OnFailure,
    /// `"always"`: a new instance after any end before the stop, an early `Ok` too.
    Always,
}

impl Restart {
    /// Its values, as written, and what they mean.
    const VALUES: [(&'static str, Self); 3] = [
        ("never", Self::Never),
        ("on-failure", Self::OnFailure),
        ("always", Self::Always),
    ];

    /// Its variant in `canstop::Restart`.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::Never => "Never",
            Self::OnFailure => "OnFailure",
            Self::Always => "Always",
        }
    }
}

/// `strategy = "..."`: how a parent (a `#[service]`, or the root of `#[canstop::main]` and
/// `#[canstop::test]`) restarts its children when one of them is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// `"one_for_one"`: only the child that ended.
    OneForOne,
    /// `"one_for_all"`: every child.
    OneForAll,
    /// `"rest_for_one"`: the child that ended and those started after it.
    RestForOne,
}

impl Strategy {
    /// Its values, as written, and what they mean.
    const VALUES: [(&'static str, Self); 3] = [
        ("one_for_one", Self::OneForOne),
        ("one_for_all", Self::OneForAll),
        ("rest_for_one", Self::RestForOne),
    ];

    /// Its variant in `canstop::Strategy`.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::OneForOne => "OneForOne",
            Self::OneForAll => "OneForAll",
            Self::RestForOne => "RestForOne",
        }
    }
}

/// `stop_order = "..."`: the order in which a parent (a `#[service]`, or the root of
/// `#[canstop::main]` and `#[canstop::test]`) stops its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopOrder {
    /// `"by-dependency"` (the default): dependents first, the others concurrently.
    ByDependency,
    /// `"reverse"`: one at a time, in reverse start order.
    Reverse,
}

impl StopOrder {
    /// Its values, as written (as `canstop::StopOrder::as_str` writes them).
    const VALUES: [(&'static str, Self); 2] = [
        ("by-dependency", Self::ByDependency),
        ("reverse", Self::Reverse),
    ];

    /// Its variant in `canstop::StopOrder`.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::ByDependency => "ByDependency",
            Self::Reverse => "Reverse",
        }
    }
}

/// One name in `needs = [...]`, with the span of its literal.
#[derive(Debug, Clone)]
pub(crate) struct Need {
    pub(crate) name: String,
    pub(crate) span: proc_macro2::Span,
}

/// `backoff = "FIRST..CAP"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// The delay before the first restart.
    pub(crate) first: Duration,
    /// The most the delay grows to.
    pub(crate) cap: Duration,
}

/// A value together with its `key = value` tokens, for the errors of [`crate::valid`].
#[derive(Debug, Clone)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    tokens: TokenStream,
}

impl<T> Spanned<T> {
    /// Where the option starts (its key), for generated code that reports about it.
    pub(crate) fn span(&self) -> proc_macro2::Span {
        self.tokens
            .clone()
            .into_iter()
            .next()
            .map_or_else(proc_macro2::Span::call_site, |token| token.span())
    }

    /// An error spanning the whole `key = value`.
    pub(crate) fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        syn::Error::new_spanned(&self.tokens, message)
    }
}

/// The options as given; `None` where absent or in error.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) timeout: Option<Spanned<Duration>>,
    pub(crate) flavor: Option<Spanned<Flavor>>,
    pub(crate) worker_threads: Option<Spanned<usize>>,
    pub(crate) start_paused: Option<Spanned<bool>>,
    pub(crate) restart: Option<Spanned<Restart>>,
    /// Whether `restart` is written, even with a value in error: the options that tune it are
    /// then not reported as lacking it.
    pub(crate) restart_written: bool,
    pub(crate) max_restarts: Option<Spanned<u32>>,
    pub(crate) within: Option<Spanned<Duration>>,
    pub(crate) backoff: Option<Spanned<Backoff>>,
    pub(crate) strategy: Option<Spanned<Strategy>>,
    /// The names that are well formed: one in error is left out.
    pub(crate) needs: Option<Spanned<Vec<Need>>>,
    pub(crate) ready_timeout: Option<Spanned<Duration>>,
    pub(crate) stop_order: Option<Spanned<StopOrder>>,
    pub(crate) drain_delay: Option<Spanned<Duration>>,
    pub(crate) health: Option<Spanned<std::net::SocketAddr>>,
    pub(crate) krate: Option<Path>,
}

impl Options {
    /// How the generated code names canstop: the `crate = "..."` path, or `::canstop`.
    pub(crate) fn krate_tokens(&self) -> TokenStream {
        match &self.krate {
            Some(path) => quote::quote!(#path),
            None => quote::quote!(::canstop),
        }
    }

    /// The name of a service or session on the fn `ident`: `name = "..."`, or the fn's name.
    pub(crate) fn name_for(&self, ident: &Ident) -> String {
        self.name
            .as_ref()
            .map_or_else(|| ident.unraw().to_string(), |name| name.value.clone())
    }
}

/// One `key = value` (or a bare `key`) as written.
struct RawOption {
    key: Ident,
    value: Option<Expr>,
}

fn parse_raw(input: ParseStream<'_>) -> syn::Result<Punctuated<RawOption, Token![,]>> {
    Punctuated::parse_terminated_with(input, |input| {
        // `Ident::parse_any` accepts keywords: `crate = "..."`.
        let key = input.call(Ident::parse_any)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            // `key = ` with nothing after it yet (mid-edit): the key's own "needs a value".
            if input.is_empty() || input.peek(Token![,]) {
                None
            } else {
                Some(input.parse::<Expr>()?)
            }
        } else {
            None
        };
        Ok(RawOption { key, value })
    })
}

/// Parses the attribute's arguments for `mac`.
pub(crate) fn parse(mac: Macro, args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let raw = match parse_raw.parse2(args) {
        Ok(raw) => raw,
        Err(error) => {
            errors.push(error);
            return options;
        }
    };
    let mut seen: Vec<Key> = Vec::new();
    for RawOption { key: ident, value } in raw {
        let Some(key) = Key::from_ident(&ident) else {
            // A misspelled `restart` is the restart policy's mistake, not also the tuning's
            // (`max_restarts` "without a policy").
            let (error, meant) = unknown_option(mac, &ident);
            options.restart_written |= meant == Some(Key::Restart.as_str());
            errors.push(error);
            continue;
        };
        if seen.contains(&key) {
            errors.push(syn::Error::new(
                ident.span(),
                format!("duplicate option `{}`: give it once", key.as_str()),
            ));
            continue;
        }
        seen.push(key);
        options.restart_written |= key == Key::Restart;
        if let Some(error) = not_allowed(mac, key, &ident) {
            errors.push(error);
            continue;
        }
        let Some(value) = value else {
            errors.push(syn::Error::new(
                ident.span(),
                format!("`{}` needs a value, like `{}`", key.as_str(), key.example()),
            ));
            continue;
        };
        let span = quote::quote!(#ident = #value);
        if let Err(error) = set(&mut options, key, &value, span, errors) {
            errors.push(error);
        }
    }
    options
}

/// Sets `key` from `value`; an error leaves it unset, but for `needs`, which records an error
/// per name in `errors` and keeps the others.
fn set(
    options: &mut Options,
    key: Key,
    value: &Expr,
    tokens: TokenStream,
    errors: &mut Errors,
) -> syn::Result<()> {
    match key {
        Key::Name => {
            let lit = string(key, value)?;
            let name = lit.value();
            if name.trim().is_empty() {
                return Err(syn::Error::new(lit.span(), "the name cannot be empty"));
            }
            if name.contains('/') {
                return Err(syn::Error::new(
                    lit.span(),
                    "a name cannot contain `/`: it separates the names in a service's path",
                ));
            }
            options.name = Some(Spanned {
                value: name,
                tokens,
            });
        }
        Key::Timeout => {
            options.timeout = Some(Spanned {
                value: duration(key, value)?,
                tokens,
            });
        }
        Key::DrainDelay => {
            options.drain_delay = Some(Spanned {
                value: duration(key, value)?,
                tokens,
            });
        }
        Key::Health => {
            let lit = string(key, value)?;
            let addr = lit.value().trim().parse().map_err(|_| {
                syn::Error::new(
                    lit.span(),
                    "expected an IP address and a port, such as \"0.0.0.0:8081\" or \"[::]:8081\"",
                )
            })?;
            options.health = Some(Spanned {
                value: addr,
                tokens,
            });
        }
        Key::Flavor => {
            let flavors = [
                ("current_thread", Flavor::CurrentThread),
                ("multi_thread", Flavor::MultiThread),
            ];
            options.flavor = Some(Spanned {
                value: choice(key, value, "flavor", &flavors)?,
                tokens,
            });
        }
        Key::WorkerThreads => {
            let Expr::Lit(ExprLit {
                lit: Lit::Int(lit), ..
            }) = value
            else {
                return Err(expected(key, value, "an integer literal"));
            };
            let workers: usize = lit.base10_parse()?;
            if workers == 0 {
                return Err(syn::Error::new(
                    lit.span(),
                    "`worker_threads` must be at least 1",
                ));
            }
            options.worker_threads = Some(Spanned {
                value: workers,
                tokens,
            });
        }
        Key::StartPaused => {
            let Expr::Lit(ExprLit {
                lit: Lit::Bool(lit),
                ..
            }) = value
            else {
                return Err(expected(key, value, "`true` or `false`"));
            };
            options.start_paused = Some(Spanned {
                value: lit.value,
                tokens,
            });
        }
        Key::Crate => {
            let lit = string(key, value)?;
            options.krate = Some(lit.parse::<Path>().map_err(|_| {
                syn::Error::new(
                    lit.span(),
                    format!(
                        "{:?} is not a path; write the path to canstop, like `{}`",
                        lit.value(),
                        key.example()
                    ),
                )
            })?);
        }
        Key::Restart => {
            options.restart = Some(Spanned {
                value: choice(key, value, "restart policy", &Restart::VALUES)?,
                tokens,
            });
        }
        Key::MaxRestarts => {
            options.max_restarts = Some(Spanned {
                value: max_restarts(value)?,
                tokens,
            });
        }
        Key::Within => {
            options.within = Some(Spanned {
                value: nonzero_duration(
                    key,
                    value,
                    "the period in which at most `max_restarts` restarts are allowed",
                )?,
                tokens,
            });
        }
        Key::Backoff => {
            options.backoff = Some(Spanned {
                value: backoff(value)?,
                tokens,
            });
        }
        Key::Strategy => {
            options.strategy = Some(Spanned {
                value: choice(key, value, "strategy", &Strategy::VALUES)?,
                tokens,
            });
        }
        Key::Needs => {
            options.needs = Some(Spanned {
                value: needs(value, errors)?,
                tokens,
            });
        }
        Key::ReadyTimeout => {
            options.ready_timeout = Some(Spanned {
                value: nonzero_duration(key, value, "how long each instance may take to be ready")?,
                tokens,
            });
        }
        Key::StopOrder => {
            options.stop_order = Some(Spanned {
                value: choice(key, value, "stop order", &StopOrder::VALUES)?,
                tokens,
            });
        }
    }
    Ok(())
}

/// `needs = ["db", "cache"]`: an array of string literals, each a sibling's name (not empty,
/// without `/` or control characters), none twice. Each name in error is one error, at it, in
/// `errors`, and is left out; a value that is not an array is the one error.
fn needs(value: &Expr, errors: &mut Errors) -> syn::Result<Vec<Need>> {
    let Expr::Array(array) = value else {
        if let Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) = value
        {
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "`needs` takes an array of names: write `needs = [{:?}]`",
                    lit.value()
                ),
            ));
        }
        return Err(expected(Key::Needs, value, "an array of string literals"));
    };
    let mut found: Vec<Need> = Vec::new();
    for element in &array.elems {
        match need(element, &found) {
            Ok(need) => found.push(need),
            Err(error) => errors.push(error),
        }
    }
    Ok(found)
}

/// One name of `needs`, given the names before it.
fn need(element: &Expr, before: &[Need]) -> syn::Result<Need> {
    let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = element
    else {
        let why = match element {
            Expr::Lit(_) => "",
            _ => " (it is read at compile time, so it cannot be a constant or an expression)",
        };
        return Err(syn::Error::new_spanned(
            element,
            format!("each name in `needs` is a string literal, like `\"db\"`{why}"),
        ));
    };
    let name = lit.value();
    let error = |message: String| Err(syn::Error::new(lit.span(), message));
    if name.trim().is_empty() {
        return error(
            "a name in `needs` cannot be empty: it is a sibling service's name".to_owned(),
        );
    }
    if name.contains('/') {
        return error(format!(
            "{name:?} cannot be needed: a service's name has no `/` (it separates the names in a path); `needs` names a sibling, by its name only"
        ));
    }
    if name.chars().any(char::is_control) {
        return error(format!(
            "{name:?} cannot be needed: a service's name has no control characters"
        ));
    }
    if before.iter().any(|need| need.name == name) {
        return error(format!("{name:?} is needed twice: give it once"));
    }
    Ok(Need {
        name,
        span: lit.span(),
    })
}

/// A string option with a fixed set of `values`; an unknown one is an error at the literal
/// that lists them (and suggests the closest, for `"on_failure"` or `"OneForAll"`).
fn choice<T: Copy>(key: Key, value: &Expr, what: &str, values: &[(&str, T)]) -> syn::Result<T> {
    let lit = string(key, value)?;
    let text = lit.value();
    if let Some((_, value)) = values.iter().find(|(name, _)| *name == text) {
        return Ok(*value);
    }
    let names: Vec<&str> = values.iter().map(|(name, _)| *name).collect();
    let quoted: Vec<String> = names.iter().map(|name| format!("{name:?}")).collect();
    let hint = closest(&text, &names)
        .map(|name| format!("; did you mean {name:?}?"))
        .unwrap_or_default();
    Err(syn::Error::new(
        lit.span(),
        format!(
            "unknown {what} {text:?}: expected {}{hint}",
            list(&quoted, "or")
        ),
    ))
}

/// A duration option (`timeout`, `within`): a string in the grammar of [`parse_duration`].
fn duration(key: Key, value: &Expr) -> syn::Result<Duration> {
    let lit = duration_string(key, value)?;
    parse_duration(&lit.value()).map_err(|error| {
        syn::Error::new(
            lit.span(),
            format!(
                "invalid duration {:?}: {}; write it like \"250ms\", \"10s\", \"1m30s\" or \"2h\"",
                lit.value(),
                error.reason()
            ),
        )
    })
}

/// A duration that must be longer than zero: `what` it is, for the message.
fn nonzero_duration(key: Key, value: &Expr, what: &str) -> syn::Result<Duration> {
    let parsed = duration(key, value)?;
    if parsed.is_zero() {
        return Err(syn::Error::new_spanned(
            value,
            format!("`{}` must be longer than 0: it is {what}", key.as_str()),
        ));
    }
    Ok(parsed)
}

/// `max_restarts = N`: an integer literal that fits a `u32`; 0 escalates at the first failure.
fn max_restarts(value: &Expr) -> syn::Result<u32> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit.base10_parse(),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) if matches!(**expr, Expr::Lit(_)) => Err(syn::Error::new_spanned(
            value,
            "`max_restarts` cannot be negative: it counts restarts (0 escalates at the first failure)",
        )),
        _ => Err(expected(Key::MaxRestarts, value, "an integer literal")),
    }
}

/// How `backoff = "FIRST..CAP"` is written, for messages.
const BACKOFF_FORM: &str = "write it as \"FIRST..CAP\", like \"100ms..30s\": the delay before the first restart, growing at each restart up to the cap";

/// `backoff = "FIRST..CAP"`: two durations in the grammar of [`parse_duration`], the first
/// not longer than the cap, and not 0 unless the cap is 0 too (a delay of 0 never grows).
fn backoff(value: &Expr) -> syn::Result<Backoff> {
    if let Expr::Range(_) = value {
        return Err(syn::Error::new_spanned(
            value,
            "write the range as one string: `backoff = \"100ms..30s\"`",
        ));
    }
    let lit = string(Key::Backoff, value)?;
    let text = lit.value();
    let error = |message: String| syn::Error::new(lit.span(), message);
    let Some((first_text, cap_text)) = text.split_once("..") else {
        return Err(error(format!("invalid backoff {text:?}: {BACKOFF_FORM}")));
    };
    if cap_text.contains("..") {
        return Err(error(format!(
            "invalid backoff {text:?}: it has more than one `..`; {BACKOFF_FORM}"
        )));
    }
    if cap_text.starts_with('=') {
        return Err(error(format!(
            "invalid backoff {text:?}: the cap is always included, write `..` and not `..=`; {BACKOFF_FORM}"
        )));
    }
    let part = |what: &str, part: &str| {
        parse_duration(part).map_err(|reason| {
            error(format!(
                "invalid backoff {text:?}: its {what} {part:?}: {}; {BACKOFF_FORM}, each duration like \"250ms\", \"10s\", \"1m30s\" or \"2h\"",
                reason.reason()
            ))
        })
    };
    let first = part("first delay", first_text)?;
    let cap = part("cap", cap_text)?;
    if first > cap {
        return Err(error(format!(
            "invalid backoff {text:?}: the first delay ({first_text}) is longer than the cap ({cap_text}); write \"FIRST..CAP\" with FIRST at most CAP, like \"{cap_text}..{first_text}\""
        )));
    }
    if first.is_zero() && !cap.is_zero() {
        return Err(error(format!(
            "invalid backoff {text:?}: a first delay of 0 never grows to the cap; give a first delay above 0, or write \"0s..0s\" to restart at once"
        )));
    }
    Ok(Backoff { first, cap })
}

fn string(key: Key, value: &Expr) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        _ => Err(expected(key, value, "a string literal")),
    }
}

/// A duration option's value: a string, with a pointed message for the number people write
/// instead.
fn duration_string(key: Key, value: &Expr) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) if !lit.suffix().is_empty() => Err(syn::Error::new(
            lit.span(),
            format!(
                "write the duration as a string: `{} = \"{}{}\"`",
                key.as_str(),
                lit.base10_digits(),
                lit.suffix()
            ),
        )),
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => Err(syn::Error::new(
            lit.span(),
            format!(
                "a bare number has no unit: write the duration as a string with its unit, like `{} = \"{}s\"`",
                key.as_str(),
                lit.base10_digits()
            ),
        )),
        _ => Err(expected(key, value, "a string literal")),
    }
}

fn expected(key: Key, value: &Expr, what: &str) -> syn::Error {
    let why = match value {
        Expr::Lit(_) => "",
        _ => " (it is read at compile time, so it cannot be a constant or an expression)",
    };
    syn::Error::new_spanned(
        value,
        format!(
            "`{}` takes {what}, like `{}`{why}",
            key.as_str(),
            key.example()
        ),
    )
}

/// The error for a known key that `mac` does not take.
fn not_allowed(mac: Macro, key: Key, ident: &Ident) -> Option<syn::Error> {
    if mac.options().contains(&key) {
        return None;
    }
    let message = match (mac, key) {
        (Macro::Session, Key::Needs | Key::ReadyTimeout) => format!(
            "`{}` is not an option of `#[session]`: a session starts when it is spawned, not in the services' start order; dependencies and readiness belong to `#[service]`",
            key.as_str()
        ),
        (Macro::Main | Macro::Test, Key::Needs | Key::ReadyTimeout) => format!(
            "`{}` is not an option of `{}`: its body starts the services and is not one of them; dependencies and readiness belong to `#[service]`",
            key.as_str(),
            mac.attr()
        ),
        (Macro::Session, Key::Restart | Key::MaxRestarts | Key::Within | Key::Backoff) => {
            format!(
                "`{}` is not an option of `#[session]`: a session runs once, until its work is done; restart policies belong to `#[service]`",
                key.as_str()
            )
        }
        (Macro::Session, Key::Timeout) => {
            "`#[session]` has no `timeout`: a session drains within the deadline of its scope; set `timeout` on the enclosing `#[service]` or on `#[canstop::main]`".to_owned()
        }
        _ => {
            let owners: Vec<String> = [Macro::Main, Macro::Service, Macro::Session, Macro::Test]
                .into_iter()
                .filter(|other| other.options().contains(&key))
                .map(|owner| format!("`{}`", owner.attr()))
                .collect();
            let owners = list(&owners, "and");
            format!(
                "`{}` is not an option of `{}`: it belongs to {owners}",
                key.as_str(),
                mac.attr()
            )
        }
    };
    Some(syn::Error::new(ident.span(), message))
}

/// The error for an unknown option, and the option it is likely a misspelling of.
fn unknown_option(mac: Macro, ident: &Ident) -> (syn::Error, Option<&'static str>) {
    let text = ident.unraw().to_string();
    let names: Vec<&'static str> = mac.options().iter().map(|key| key.as_str()).collect();
    let meant = closest(&text, &names);
    let message = match meant {
        Some(name) => format!(
            "unknown option `{text}` for `{}`: did you mean `{name}`?",
            mac.attr()
        ),
        None => format!(
            "unknown option `{text}` for `{}`: its options are {}",
            mac.attr(),
            list(
                &names
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>(),
                "and"
            )
        ),
    };
    (syn::Error::new(ident.span(), message), meant)
}

/// The name in `names` that `text` is most likely a misspelling of: the same but for case,
/// `-` and `_` (`"on_failure"`, `"OneForAll"`), or at most 2 edits away.
fn closest<'a>(text: &str, names: &[&'a str]) -> Option<&'a str> {
    let folded = |text: &str| -> String {
        text.chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    if let Some(name) = names.iter().find(|name| folded(name) == folded(text)) {
        return Some(name);
    }
    names
        .iter()
        .map(|name| (edit_distance(text, name), *name))
        .filter(|(distance, name)| *distance <= 2 && *distance < name.len())
        .min()
        .map(|(_, name)| name)
}

/// `a`, `a and b`, `a, b and c`.
fn list<S: AsRef<str>>(items: &[S], last: &str) -> String {
    match items {
        [] => String::new(),
        [only] => only.as_ref().to_owned(),
        [init @ .., tail] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} {last} {}", init.join(", "), tail.as_ref())
        }
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse_ok(mac: Macro, args: TokenStream) -> Options {
        let mut errors = Errors::default();
        let options = parse(mac, args, &mut errors);
        assert!(errors.is_empty(), "unexpected errors: {errors:?}");
        options
    }

    fn messages(mac: Macro, args: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        let _ = parse(mac, args, &mut errors);
        errors.messages()
    }

    #[test]
    fn parses_every_option() {
        let options = parse_ok(
            Macro::Test,
            quote!(
                flavor = "multi_thread",
                worker_threads = 3,
                start_paused = false,
                timeout = "1m30s",
                crate = "::x::canstop"
            ),
        );
        assert_eq!(options.flavor.unwrap().value, Flavor::MultiThread);
        assert_eq!(options.worker_threads.unwrap().value, 3);
        assert!(!options.start_paused.unwrap().value);
        assert_eq!(options.timeout.unwrap().value, Duration::from_secs(90));
        let krate = options.krate.unwrap();
        assert_eq!(quote!(#krate).to_string(), ":: x :: canstop");

        let options = parse_ok(Macro::Service, quote!(name = "acceptor",));
        assert_eq!(options.name.unwrap().value, "acceptor");
    }

    #[test]
    fn reports_every_mistake_not_only_the_first() {
        let found = messages(
            Macro::Service,
            quote!(
                nme = "x",
                timeout = "10x",
                timeout = "1s",
                flavor = "current_thread"
            ),
        );
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].contains("did you mean `name`?"), "{found:?}");
        assert!(found[1].contains("unknown unit"), "{found:?}");
        assert!(
            found[2].starts_with("duplicate option `timeout`"),
            "{found:?}"
        );
        assert!(
            found[3].contains("not an option of `#[service]`"),
            "{found:?}"
        );
    }

    #[test]
    fn explains_the_value_expected() {
        let found = messages(
            Macro::Main,
            quote!(timeout = 10, worker_threads = "4", flavor = FLAVOR),
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("`timeout = \"10s\"`"), "{found:?}");
        assert!(found[1].contains("an integer literal"), "{found:?}");
        assert!(found[2].contains("cannot be a constant"), "{found:?}");
    }

    #[test]
    fn parses_the_restart_options() {
        let options = parse_ok(
            Macro::Service,
            quote!(
                restart = "on-failure",
                max_restarts = 0,
                within = "1m30s",
                backoff = "250ms..1m",
                strategy = "rest_for_one"
            ),
        );
        assert_eq!(options.restart.unwrap().value, Restart::OnFailure);
        assert!(options.restart_written);
        assert_eq!(options.max_restarts.unwrap().value, 0);
        assert_eq!(options.within.unwrap().value, Duration::from_secs(90));
        assert_eq!(
            options.backoff.unwrap().value,
            Backoff {
                first: Duration::from_millis(250),
                cap: Duration::from_secs(60)
            }
        );
        assert_eq!(options.strategy.unwrap().value, Strategy::RestForOne);

        for (text, restart) in Restart::VALUES {
            let options = parse_ok(Macro::Service, quote!(restart = #text));
            assert_eq!(options.restart.unwrap().value, restart);
        }
        for (text, strategy) in Strategy::VALUES {
            for mac in [Macro::Main, Macro::Service, Macro::Test] {
                let options = parse_ok(mac, quote!(strategy = #text));
                assert_eq!(options.strategy.unwrap().value, strategy);
            }
        }
        let options = parse_ok(
            Macro::Service,
            quote!(backoff = "0s..0s", max_restarts = 4_000_000_000),
        );
        assert_eq!(options.backoff.unwrap().value.cap, Duration::ZERO);
        assert_eq!(options.max_restarts.unwrap().value, 4_000_000_000);
    }

    #[test]
    fn lists_the_policies_and_strategies() {
        assert_eq!(
            messages(Macro::Service, quote!(restart = "on_failure")),
            ["unknown restart policy \"on_failure\": expected \"never\", \"on-failure\" or \"always\"; did you mean \"on-failure\"?"]
        );
        assert_eq!(
            messages(Macro::Service, quote!(restart = "sometimes")),
            ["unknown restart policy \"sometimes\": expected \"never\", \"on-failure\" or \"always\""]
        );
        assert_eq!(
            messages(Macro::Main, quote!(strategy = "OneForAll")),
            ["unknown strategy \"OneForAll\": expected \"one_for_one\", \"one_for_all\" or \"rest_for_one\"; did you mean \"one_for_all\"?"]
        );
        let found = messages(Macro::Service, quote!(restart = true, strategy = ONE));
        assert!(found[0].contains("`restart = \"on-failure\"`"), "{found:?}");
        assert!(found[1].contains("cannot be a constant"), "{found:?}");
    }

    #[test]
    fn checks_the_backoff() {
        for (args, expected) in [
            (quote!(backoff = "30s..100ms"), "the first delay (30s) is longer than the cap (100ms); write \"FIRST..CAP\" with FIRST at most CAP, like \"100ms..30s\""),
            (quote!(backoff = "100ms"), "invalid backoff \"100ms\": write it as \"FIRST..CAP\""),
            (quote!(backoff = "..30s"), "its first delay \"\": it is empty"),
            (quote!(backoff = "1s..30x"), "its cap \"30x\": unknown unit"),
            (quote!(backoff = "1s..2s..3s"), "it has more than one `..`"),
            (quote!(backoff = "100ms..=30s"), "write `..` and not `..=`"),
            (quote!(backoff = "0s..30s"), "a first delay of 0 never grows"),
            (quote!(backoff = "100ms".."30s"), "write the range as one string: `backoff = \"100ms..30s\"`"),
            (quote!(backoff = 100), "`backoff` takes a string literal, like `backoff = \"100ms..30s\"`"),
        ] {
            let found = messages(Macro::Service, args.clone());
            assert_eq!(found.len(), 1, "{args}: {found:?}");
            assert!(found[0].contains(expected), "{args}: {found:?}");
        }
    }

    #[test]
    fn checks_the_intensity() {
        for (args, expected) in [
            (quote!(within = "0s"), "`within` must be longer than 0"),
            (quote!(within = 10), "like `within = \"10s\"`"),
            (quote!(within = "10"), "the unit is missing"),
            (
                quote!(max_restarts = -1),
                "`max_restarts` cannot be negative",
            ),
            (
                quote!(max_restarts = "3"),
                "`max_restarts` takes an integer literal, like `max_restarts = 5`",
            ),
            (
                quote!(max_restarts = 1.5),
                "`max_restarts` takes an integer literal",
            ),
            (quote!(max_restarts = 5_000_000_000), "number too large"),
        ] {
            let found = messages(Macro::Service, args.clone());
            assert_eq!(found.len(), 1, "{args}: {found:?}");
            assert!(found[0].contains(expected), "{args}: {found:?}");
        }
    }

    #[test]
    fn restart_options_belong_to_service() {
        assert_eq!(
            messages(Macro::Session, quote!(restart = "always", backoff = "1s..2s")),
            [
                "`restart` is not an option of `#[session]`: a session runs once, until its work is done; restart policies belong to `#[service]`",
                "`backoff` is not an option of `#[session]`: a session runs once, until its work is done; restart policies belong to `#[service]`",
            ]
        );
        assert_eq!(
            messages(Macro::Main, quote!(max_restarts = 3)),
            ["`max_restarts` is not an option of `#[canstop::main]`: it belongs to `#[service]`"]
        );
        assert_eq!(
            messages(Macro::Session, quote!(strategy = "one_for_all")),
            ["`strategy` is not an option of `#[session]`: it belongs to `#[canstop::main]`, `#[service]` and `#[canstop::test]`"]
        );
        // A value in error still counts as written.
        let mut errors = Errors::default();
        let options = parse(Macro::Service, quote!(restart = "sometimes"), &mut errors);
        assert!(options.restart.is_none() && options.restart_written);
    }

    #[test]
    fn parses_the_readiness_and_order_options() {
        let options = parse_ok(
            Macro::Service,
            quote!(
                needs = ["db", "cache",],
                ready_timeout = "1m30s",
                stop_order = "reverse"
            ),
        );
        let names: Vec<String> = options
            .needs
            .unwrap()
            .value
            .into_iter()
            .map(|need| need.name)
            .collect();
        assert_eq!(names, ["db", "cache"]);
        assert_eq!(
            options.ready_timeout.unwrap().value,
            Duration::from_secs(90)
        );
        assert_eq!(options.stop_order.unwrap().value, StopOrder::Reverse);
        for (text, order) in StopOrder::VALUES {
            for mac in [Macro::Main, Macro::Service, Macro::Test] {
                let options = parse_ok(mac, quote!(stop_order = #text));
                assert_eq!(options.stop_order.unwrap().value, order);
            }
        }
        let options = parse_ok(Macro::Service, quote!(needs = []));
        assert!(options.needs.unwrap().value.is_empty());
    }

    #[test]
    fn checks_each_name_needed() {
        for (args, expected) in [
            (quote!(needs = "db"), "`needs` takes an array of names: write `needs = [\"db\"]`"),
            (quote!(needs = DEPS), "`needs` takes an array of string literals, like `needs = [\"db\", \"cache\"]` (it is read at compile time, so it cannot be a constant or an expression)"),
            (quote!(needs = 3), "`needs` takes an array of string literals, like `needs = [\"db\", \"cache\"]`"),
            (quote!(needs = [db]), "each name in `needs` is a string literal, like `\"db\"` (it is read at compile time, so it cannot be a constant or an expression)"),
            (quote!(needs = [1]), "each name in `needs` is a string literal, like `\"db\"`"),
            (quote!(needs = [" "]), "a name in `needs` cannot be empty: it is a sibling service's name"),
            (quote!(needs = ["api/db"]), "\"api/db\" cannot be needed: a service's name has no `/`"),
            (quote!(needs = ["db\n"]), "\"db\\n\" cannot be needed: a service's name has no control characters"),
            (quote!(needs = ["db", "db"]), "\"db\" is needed twice: give it once"),
        ] {
            let found = messages(Macro::Service, args.clone());
            assert_eq!(found.len(), 1, "{args}: {found:?}");
            assert!(found[0].starts_with(expected), "{args}: {found:?}");
        }
        // One error per name in error; the others are kept.
        let mut errors = Errors::default();
        let options = parse(
            Macro::Service,
            quote!(needs = ["db", "", DB, "cache", "db"]),
            &mut errors,
        );
        assert_eq!(errors.messages().len(), 3, "{:?}", errors.messages());
        let kept: Vec<String> = options
            .needs
            .unwrap()
            .value
            .into_iter()
            .map(|need| need.name)
            .collect();
        assert_eq!(kept, ["db", "cache"]);
    }

    #[test]
    fn checks_the_ready_timeout_and_the_stop_order() {
        assert_eq!(
            messages(Macro::Service, quote!(ready_timeout = "0ms")),
            ["`ready_timeout` must be longer than 0: it is how long each instance may take to be ready"]
        );
        assert_eq!(
            messages(Macro::Service, quote!(ready_timeout = 5)),
            ["a bare number has no unit: write the duration as a string with its unit, like `ready_timeout = \"5s\"`"]
        );
        assert_eq!(
            messages(Macro::Main, quote!(stop_order = "by_dependency")),
            ["unknown stop order \"by_dependency\": expected \"by-dependency\" or \"reverse\"; did you mean \"by-dependency\"?"]
        );
        assert_eq!(
            messages(Macro::Service, quote!(stop_order = "lifo")),
            ["unknown stop order \"lifo\": expected \"by-dependency\" or \"reverse\""]
        );
    }

    #[test]
    fn readiness_options_belong_to_service() {
        assert_eq!(
            messages(Macro::Main, quote!(needs = ["db"], ready_timeout = "1s")),
            ["needs", "ready_timeout"].map(|key| format!(
                "`{key}` is not an option of `#[canstop::main]`: its body starts the services and is not one of them; dependencies and readiness belong to `#[service]`"
            ))
        );
        assert_eq!(
            messages(Macro::Session, quote!(needs = ["db"])),
            ["`needs` is not an option of `#[session]`: a session starts when it is spawned, not in the services' start order; dependencies and readiness belong to `#[service]`"]
        );
        assert_eq!(
            messages(Macro::Session, quote!(stop_order = "reverse")),
            ["`stop_order` is not an option of `#[session]`: it belongs to `#[canstop::main]`, `#[service]` and `#[canstop::test]`"]
        );
    }

    #[test]
    fn lists_and_distances() {
        assert_eq!(list(&["a"], "and"), "a");
        assert_eq!(list(&["a", "b", "c"], "and"), "a, b and c");
        assert_eq!(edit_distance("timout", "timeout"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("flavor", "flavor"), 0);
        assert_eq!(
            closest("on_failure", &["never", "on-failure"]),
            Some("on-failure")
        );
        assert_eq!(closest("timout", &["name", "timeout"]), Some("timeout"));
        assert_eq!(closest("retries", &["restart", "within"]), None);
    }
}
