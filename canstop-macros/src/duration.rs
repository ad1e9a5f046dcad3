//! The duration grammar shared by `timeout = "..."` in the macros (checked at compile time) and
//! by `CANSTOP_SHUTDOWN_TIMEOUT` (checked at start-up).
//!
//! A duration is one or more `<digits><unit>` parts with units `h`, `m`, `s` and `ms`, largest
//! unit first, each unit at most once: `"250ms"`, `"10s"`, `"1m30s"`, `"2h"`. There is no sign,
//! no fraction, no space and no bare number: `"30"` is rejected rather than guessed at.
//!
//! A copy of `canstop/src/root/duration.rs` (a proc-macro crate cannot share code with its
//! runtime crate, and each crate must package on its own). The test
//! `the_copy_in_canstop_agrees` checks that both accept and reject the same strings, with the
//! same values and reasons.

use std::fmt;
use std::time::Duration;

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    input: String,
    reason: &'static str,
}

impl DurationError {
    fn new(input: &str, reason: &'static str) -> Self {
        Self {
            input: input.to_owned(),
            reason,
        }
    }

    /// What is wrong with the input, without the input itself.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: {} (write it like \"250ms\", \"10s\", \"1m30s\" or \"2h\")",
            self.input, self.reason
        )
    }
}

impl std::error::Error for DurationError {}

/// The units, largest first, with their length in milliseconds.
const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];

/// Parses a duration such as `"1m30s"`.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    if input.is_empty() {
        return Err(DurationError::new(input, "it is empty"));
    }
    if input.starts_with('-') {
        return Err(DurationError::new(input, "a duration cannot be negative"));
    }
    if input.contains(char::is_whitespace) {
        return Err(DurationError::new(
            input,
            "spaces are not allowed (write \"10s\", not \"10 s\")",
        ));
    }
    let mut rest = input;
    let mut total_ms: u64 = 0;
    // Index into UNITS of the next unit allowed: units must come largest first, once each.
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::new(input, "expected a number"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| DurationError::new(input, "the number is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        if unit_len == 0 {
            let reason = if rest.is_empty() {
                "the unit is missing"
            } else if rest.starts_with(['.', ',']) {
                "fractions are not supported (write \"1s500ms\", not \"1.5s\")"
            } else {
                "expected a unit (h, m, s or ms)"
            };
            return Err(DurationError::new(input, reason));
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let Some(position) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(DurationError::new(
                input,
                "unknown unit (use h, m, s or ms)",
            ));
        };
        if position < next_unit {
            return Err(DurationError::new(
                input,
                "units must go from largest to smallest, each at most once",
            ));
        }
        next_unit = position + 1;
        total_ms = number
            .checked_mul(UNITS[position].1)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| DurationError::new(input, "the duration is too large"))?;
    }
    Ok(Duration::from_millis(total_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(
            parse_duration("1h2m3s4ms"),
            Ok(Duration::from_millis(3_723_004))
        );
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_malformed_input_with_a_reason() {
        for (input, reason) in [
            ("", "it is empty"),
            ("-1s", "a duration cannot be negative"),
            ("10", "the unit is missing"),
            ("10x", "unknown unit (use h, m, s or ms)"),
            ("s", "expected a number"),
            (
                "1.5s",
                "fractions are not supported (write \"1s500ms\", not \"1.5s\")",
            ),
            (
                "10 s",
                "spaces are not allowed (write \"10s\", not \"10 s\")",
            ),
            (
                "1m 30s",
                "spaces are not allowed (write \"10s\", not \"10 s\")",
            ),
            (
                " 10s",
                "spaces are not allowed (write \"10s\", not \"10 s\")",
            ),
            (
                "30s1m",
                "units must go from largest to smallest, each at most once",
            ),
            (
                "1s1s",
                "units must go from largest to smallest, each at most once",
            ),
            ("99999999999999999999s", "the number is too large"),
            ("9999999999999999h", "the duration is too large"),
        ] {
            let error = parse_duration(input).expect_err(input);
            assert_eq!(error.reason(), reason, "input {input:?}");
        }
    }

    /// Every string of up to 4 characters over an alphabet that covers the grammar and its
    /// usual mistakes: this copy and the runtime's agree on each.
    #[test]
    fn the_copy_in_canstop_agrees() {
        const ALPHABET: [char; 12] = ['0', '1', '9', '.', 'h', 'm', 's', 'x', '-', ' ', 'µ', 'S'];
        let mut inputs = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..4 {
            last = last
                .iter()
                .flat_map(|prefix| ALPHABET.iter().map(move |c| format!("{prefix}{c}")))
                .collect();
            inputs.extend(last.iter().cloned());
        }
        inputs
            .extend(["99999999999999999999s", "9999999999999999h", "1h2m3s4ms"].map(String::from));
        for input in &inputs {
            let ours = parse_duration(input).map_err(|error| error.reason());
            let theirs = canstop::parse_duration(input).map_err(|error| error.reason());
            assert_eq!(ours, theirs, "input {input:?}");
        }
    }

    #[test]
    fn the_message_names_the_input_and_the_grammar() {
        let message = parse_duration("10x").unwrap_err().to_string();
        assert!(message.contains("\"10x\""), "{message}");
        assert!(message.contains("1m30s"), "{message}");
    }
}
