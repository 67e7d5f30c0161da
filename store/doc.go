// Package store owns gathering's persistent state: the records several
// instances share, the [Store] interface through which the rest of the
// program reads and writes them, and the errors callers branch on.
//
// # Drivers
//
// Two drivers implement [Store]: store/sqlite, the default embedded store in
// a single file that needs no server, and store/postgres, for state shared by
// several instances. Each ships its own migrations with the same version
// numbers, applies them under a lock in [Store.Migrate], and passes the
// conformance suite in store/storetest.
//
// # Errors
//
// Drivers translate the errors of their database at the boundary: a missing
// record is [ErrNotFound], a uniqueness violation [ErrConflict], and a record
// or argument the store cannot hold [ErrInvalid]. Callers test for them with
// [errors.Is]; every other error is an operational failure.
//
// # Safety
//
// Drivers build SQL only with parameters, never by concatenating values, and
// never log a connection string except through [RedactDSN].
package store
