//! Binding a row's values by their own types.

/// Binds each value by its own type, in order from parameter 1, and runs the
/// statement: `rusqlite::Result<usize>`, the rows changed.
///
/// Why not `stmt.execute(params![...])`: `params!` hands each value over as
/// `&dyn ToSql`, whose result (a `ToSqlOutput`) round-trips through memory
/// behind a call the compiler cannot see through; the wide loads right after
/// narrow stores stalled (perf put two thirds of rusqlite's `bind_parameters`,
/// itself a tenth of the writer thread, on three such loads). Bound one by one
/// with `raw_bind_parameter`, each value's conversion is inlined.
/// Every parameter is bound each time, so none keeps an earlier row's value
/// (checked in debug builds).
macro_rules! execute_bound {
    ($stmt:expr; $($value:expr),+ $(,)?) => {{
        let stmt: &mut rusqlite::Statement<'_> = &mut *$stmt;
        (|| -> rusqlite::Result<usize> {
            let mut index = 0usize;
            $(
                index += 1;
                stmt.raw_bind_parameter(index, $value)?;
            )+
            debug_assert_eq!(index, stmt.parameter_count(), "every parameter bound");
            stmt.raw_execute()
        })()
    }};
}
