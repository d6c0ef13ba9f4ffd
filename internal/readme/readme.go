// Package readme reads the Go code blocks of a README section, so the tests
// that build the README's examples read them one way.
package readme

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ConsumerSection is the README section whose Go blocks make test builds:
// the construct's CDK app first, then the library-only Lambda (DESIGN.md).
const ConsumerSection = "## Use the authorizer in your own stack"

var goBlock = regexp.MustCompile("(?s)\n```go\n(.*?)\n```\n")

// Block is one ```go block: its source (ending in a newline) and the
// subsection ("### ..." heading line, "" before the first) it stands under.
type Block struct {
	Source, Subsection string
}

// GoBlocks returns the Go blocks of the section of root/README.md headed by
// the line heading, up to the next "## " heading, in order.
func GoBlocks(root, heading string) ([]Block, error) {
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		return nil, err
	}
	_, section, ok := strings.Cut(string(raw), "\n"+heading+"\n")
	if !ok {
		return nil, fmt.Errorf("README.md has no section %q", heading)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var blocks []Block
	for _, m := range goBlock.FindAllStringSubmatchIndex(section, -1) {
		sub := ""
		if i := strings.LastIndex(section[:m[0]], "\n### "); i >= 0 {
			sub, _, _ = strings.Cut(section[i+1:], "\n")
		}
		blocks = append(blocks, Block{Source: section[m[2]:m[3]] + "\n", Subsection: sub})
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("README section %q has no Go code block", heading)
	}
	return blocks, nil
}
