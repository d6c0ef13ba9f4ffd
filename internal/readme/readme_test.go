package readme

import (
	"os"
	"path/filepath"
	"testing"
)

func TestGoBlocks(t *testing.T) {
	dir := t.TempDir()
	doc := "# T\n\n## Other\n\n```go\nnot this\n```\n\n## Use it\n\ntext\n\n```sh\nnot go\n```\n\n```go\npackage a\n```\n\n### The second part\n\n```go\npackage b\n```\n\n## Empty\n\ntext only\n\n## Next\n\n```go\npackage c\n```\n"
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, err := GoBlocks(dir, "## Use it")
	if err != nil {
		t.Fatal(err)
	}
	want := []Block{{Source: "package a\n"}, {Source: "package b\n", Subsection: "### The second part"}}
	if len(blocks) != len(want) || blocks[0] != want[0] || blocks[1] != want[1] {
		t.Fatalf("GoBlocks = %+v, want %+v", blocks, want)
	}
	if _, err := GoBlocks(dir, "## Missing"); err == nil {
		t.Fatal("a missing section is no error")
	}
	if _, err := GoBlocks(dir, "## Empty"); err == nil || err.Error() != `README section "## Empty" has no Go code block` {
		t.Fatalf("a section without Go blocks: %v", err)
	}
}
