//! One party's own input values, by input name.

use super::error::InputError;
use super::program::{InputDesc, SessionProgram};
use garblet_circuits::Party;
use zeroize::Zeroize;

/// One party's own input values, by input name (bit k of a value is wire k
/// of that input). Secret: `Debug` shows names and widths only, and the
/// bits are wiped when dropped.
#[derive(Clone)]
pub struct PartyInputs {
    values: Vec<(String, Vec<bool>)>,
}

impl PartyInputs {
    /// Inputs from `(name, bits)` pairs.
    pub fn new(values: impl IntoIterator<Item = (String, Vec<bool>)>) -> Self {
        PartyInputs { values: values.into_iter().collect() }
    }

    /// Adds one more input (the dual-execution masks use it).
    pub(crate) fn push(&mut self, name: String, bits: Vec<bool>) {
        self.values.push((name, bits));
    }

    /// The bits of `party`'s inputs in the program's wire order, checking
    /// that exactly `party`'s inputs are given, each with its width. The
    /// caller wipes the result (it is wrapped in `Zeroizing`).
    pub(crate) fn bits_for(
        &self,
        program: &SessionProgram<'_>,
        party: Party,
    ) -> Result<zeroize::Zeroizing<Vec<bool>>, InputError> {
        let mut bits = zeroize::Zeroizing::new(Vec::new());
        for InputDesc { name, width, .. } in program.inputs().iter().filter(|i| i.owner == party) {
            let value = self
                .values
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| InputError::Missing { name: name.clone(), width: *width })?;
            if value.1.len() != *width as usize {
                return Err(InputError::Width { name: name.clone(), width: *width, given: value.1.len() });
            }
            bits.extend_from_slice(&value.1);
        }
        for (k, (name, _)) in self.values.iter().enumerate() {
            if self.values[..k].iter().any(|(n, _)| n == name) {
                return Err(InputError::Repeated(name.clone()));
            }
            match program.inputs().iter().find(|i| &i.name == name) {
                Some(i) if i.owner == party => {}
                Some(i) => return Err(InputError::NotOurs { name: name.clone(), owner: i.owner }),
                None => return Err(InputError::Unknown(name.clone())),
            }
        }
        Ok(bits)
    }
}

impl std::fmt::Debug for PartyInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names and widths only: the values are this party's secret.
        f.debug_map().entries(self.values.iter().map(|(n, b)| (n, format!("<{} bits>", b.len())))).finish()
    }
}

impl Drop for PartyInputs {
    fn drop(&mut self) {
        for (_, bits) in &mut self.values {
            bits.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An input given twice is an error, not the first value silently.
    #[test]
    fn an_input_given_twice_is_refused() {
        let mut b = garblet_circuits::Builder::new();
        let x = b.input("x", Party::Garbler, 2).unwrap();
        b.output("y", garblet_circuits::Visibility::Both, x).unwrap();
        let c = b.finish().unwrap();
        let program = SessionProgram::from_circuit(&c).unwrap();
        let once = PartyInputs::new([("x".to_owned(), vec![true, false])]);
        assert_eq!(&once.bits_for(&program, Party::Garbler).unwrap()[..], &[true, false]);
        let twice =
            PartyInputs::new([("x".to_owned(), vec![true, false]), ("x".to_owned(), vec![false, true])]);
        assert!(matches!(twice.bits_for(&program, Party::Garbler), Err(InputError::Repeated(n)) if n == "x"));
    }

    #[test]
    fn debug_never_prints_input_bits() {
        let inputs = PartyInputs::new([("secret".to_owned(), vec![true, false, true])]);
        let shown = format!("{inputs:?}");
        assert_eq!(shown, r#"{"secret": "<3 bits>"}"#);
        assert!(!shown.contains("true") && !shown.contains("false"));
    }
}
