// Package folder holds the pieces of folder sync (synk folder): files
// split into content-defined chunks, so that a small edit in a large file
// changes only the chunks around it, and devices send only the chunks the
// others lack.
package folder
