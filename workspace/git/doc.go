// Package git runs the git command line on a project's working tree: status,
// diff, log, branches, stage, unstage and commit, each as a subprocess bound
// to a context deadline, with its output parsed into plain Go values.
//
// # Safety
//
// A project is someone else's code, and a repository's own configuration
// (.git/config, its includes, .gitattributes, .git/hooks) can name programs
// for git to run. Unless [Config.Trusted] is set, every command runs with
// those neutralised:
//
//   - hooks: core.hooksPath=/dev/null, so no hook in .git/hooks or elsewhere
//     runs (pre-commit, commit-msg, post-commit, pre-auto-gc, …);
//   - core.fsmonitor=false, which otherwise may name a program to run on
//     status, diff and add;
//   - filter drivers: each filter.<name>.clean, .smudge and .process that the
//     repository configures is overridden with an empty command, which git
//     treats as no filter;
//   - diff drivers: --no-ext-diff and --no-textconv on diff and log, so
//     diff.external, diff.<name>.command and .textconv never run;
//   - signing: commit.gpgSign=false, --no-gpg-sign and log.showSignature=false,
//     so gpg.program and gpg.ssh.program never run;
//   - the network: protocol.allow=never, so a partial clone's lazy fetch,
//     core.sshCommand, credential helpers and askpass programs never run;
//   - the terminal: GIT_TERMINAL_PROMPT=0, GIT_ASKPASS and SSH_ASKPASS empty,
//     GIT_EDITOR=true and GIT_PAGER=cat, and standard input is empty, so
//     nothing waits for a person;
//   - housekeeping: gc.auto=0 and maintenance.auto=false, so a commit does not
//     start a background gc;
//   - submodules are not recursed into (--ignore-submodules=all), since their
//     configuration is not inspected.
//
// Command-line configuration (-c) outranks the repository's, and git passes
// it on to the git processes it starts. Inherited GIT_* environment variables
// are dropped so that the server's own environment cannot point a command at
// another repository. git's own ownership check (safe.directory) is left on:
// a repository owned by another user is refused by git, and the error says
// so; trusting it is the user's decision, made in their git configuration.
//
// Revisions and branch names that clients pass are checked to be revisions,
// never options, and come after --end-of-options; paths come after -- with
// --literal-pathspecs, so no path is read as an option or a glob.
package git
