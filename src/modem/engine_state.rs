//! The modem state as `/status` shows it and the `modem: ...` log lines: a state change is
//! logged once, a problem when it starts (not at each retry that ends the same way), the routine
//! ready/sending flips of every message not at all. Part of [`Engine`]; no I/O, no clock reads.

use super::{Engine, Event};
use crate::status::ModemState;

impl Engine {
    /// A routine log line `modem: ...` (one non-generic formatter for every call site).
    pub(in crate::modem) fn log(&mut self, args: std::fmt::Arguments<'_>) {
        let line = format!("modem: {args}");
        self.events.push(Event::Log(crate::log::Level::Info, line));
    }

    /// A log line `modem: ...` about a problem (stderr: procd logs it at `err`).
    pub(in crate::modem) fn warn(&mut self, args: std::fmt::Arguments<'_>) {
        let line = format!("modem: {args}");
        self.events.push(Event::Log(crate::log::Level::Warn, line));
    }

    pub(in crate::modem) fn set_state(&mut self, state: ModemState) {
        if self.info.state != state {
            // Every message goes ready -> sending -> ready: not worth two log lines each.
            let routine = matches!(
                (&self.info.state, &state),
                (ModemState::Ready, ModemState::Sending) | (ModemState::Sending, ModemState::Ready)
            );
            let problem = matches!(state, ModemState::Error(_) | ModemState::WaitingForDevice);
            let retry = state == ModemState::Initializing && self.logged_problem.is_some();
            if problem && self.logged_problem.as_ref() != Some(&state) {
                self.warn(format_args!("{state}"));
                self.logged_problem = Some(state.clone());
            } else if !problem && !routine && !retry {
                self.log(format_args!("{state}"));
            }
            if !problem && !retry {
                self.logged_problem = None;
            }
            self.info.state = state;
            self.info_dirty = true;
        }
    }

    pub(in crate::modem) fn touch_info(&mut self) {
        self.info_dirty = true;
    }

    pub(in crate::modem) fn ready_state(&mut self) {
        if self.registered {
            self.set_state(ModemState::Ready);
        } else {
            self.problem = "not registered to a network".into();
            self.set_state(ModemState::WaitingForNetwork);
        }
    }
}
