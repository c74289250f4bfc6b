//! One line for an error and every cause behind it. The service's errors keep their causes as typed sources and, as
//! the Rust API guidelines ask, their own messages do not repeat them; a log line or a stored message that showed
//! only the top message would lose what went wrong underneath. [`Chain`] shows it all: `top: cause: cause's cause`.
//! It depends on nothing else in the crate, so any module may use it.

use std::error::Error;
use std::fmt;

/// Displays an error followed by each of its sources, separated by `": "`.
///
/// Some libraries both print their source in their own message and return it from `source()` (an I/O error inside
/// a Redis error, say); a cause whose text already ends what was written is left out, so it is not shown twice.
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(error) = cause {
            let text = error.to_string();
            if !line.ends_with(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            cause = error.source();
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("the outer step failed")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("the middle step failed")]
    struct Middle(#[source] std::io::Error);

    /// Prints its source in its own message too, as some libraries do.
    #[derive(Debug, thiserror::Error)]
    #[error("wrapped: {0}")]
    struct Repeating(#[source] std::io::Error);

    fn refused() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused")
    }

    #[test]
    fn shows_every_cause_in_order() {
        let error = Outer(Middle(refused()));
        assert_eq!(Chain(&error).to_string(), "the outer step failed: the middle step failed: connection refused");
    }

    #[test]
    fn an_error_without_source_is_its_own_message() {
        assert_eq!(Chain(&refused()).to_string(), "connection refused");
    }

    #[test]
    fn a_cause_already_printed_is_not_repeated() {
        assert_eq!(Chain(&Repeating(refused())).to_string(), "wrapped: connection refused");
    }
}
