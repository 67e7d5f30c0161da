// Package auth owns who a TCP client is and how often it may ask: password
// hashing (argon2id), access tokens, the cached per-request token check,
// login with its limits, project membership checks, and the audit log's
// writers. It keeps everything durable in a [store.AuthStore], so a revoked
// token or a disabled user stops working on every instance.
//
// # Tokens
//
// A token is "gat_" followed by 32 random bytes in unpadded base64url (256
// bits). It is shown once; the store keeps only its SHA-256. Tokens are found
// by that hash, through a database index or this package's cache: comparing
// hashes of a 256-bit secret leaks nothing an attacker can use, since
// learning a prefix of a SHA-256 output tells nothing about the input.
//
// # Revocation across instances
//
// [Service.Check] answers from a cache and rereads a token and its user from
// the store once the cached answer is older than [Config.Recheck] (500 ms by
// default). A revocation, a disabled user or a new role is therefore seen by
// every instance within Recheck plus one store read, whatever the driver
// (several processes may share a SQLite file too), with no connection that
// could silently drop, as a LISTEN/NOTIFY listener can, leaving revoked tokens
// valid until it is noticed. The cost is one indexed read per token in use
// per Recheck; the instance that revokes drops its cache entry at once.
//
// # Passwords
//
// Passwords are hashed with argon2id (RFC 9106) at OWASP's parameters, 19 MiB,
// two passes, one lane, and stored in PHC form, so parameters can change
// without invalidating stored hashes. An unknown email is checked against a
// dummy hash with the same parameters, so it costs what a wrong password
// does; hashes are compared with [subtle.ConstantTimeCompare]. At most half
// of GOMAXPROCS hashes run at once, which bounds their memory and leaves
// CPUs to other clients during a login flood.
//
// # Login limits
//
// Each password login costs a hash, so the limits are checked before it,
// cheapest first. An address that has failed [Config.LoginBackoff] (5)
// password logins in a row on this instance backs off: its attempts are
// refused, before any store read, until a delay has passed that starts at
// a second and doubles with each further failure, up to a minute; a
// success ends it. A flood from one address thus gets one hash a minute,
// and a user who mistypes a password a few times waits not at all. Then
// each address has a token bucket (2 logins a second), and the store counts
// failures per address and per email over [Config.FailureWindow], on every
// instance. Token authentication shares the bucket and the address's count
// but not the back-off: clients behind an address that floods logins still
// get in with their tokens.
package auth
