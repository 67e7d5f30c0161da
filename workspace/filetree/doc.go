// Package filetree lists the files beneath a project root: a cached,
// paginated, .gitignore-aware listing read through an [os.Root], kept
// current by file-system events on a bounded number of watched directories
// and by polling the rest, and bounded in memory by a shared LRU [Cache].
//
// Pages are in depth-first order, each directory before its contents and
// siblings sorted by name, and resume after the last path of the previous
// page, so a page boundary stays put while the tree changes around it.
package filetree
