package spec

import (
	"errors"

	"gopkg.in/yaml.v3"

	"github.com/portico-dev/portico/internal/iam"
)

// nodeMap holds YAML nodes by the place they were decoded to.
type nodeMap map[posKey]*yaml.Node

// parsePolicy parses an inline policy of r whose shape is already checked
// with the same parser the running system evaluates it with, so that a
// policy the system would refuse (an unsupported Condition operator or
// key, a malformed ARN) is refused here. The error points at the place in
// the policy it is about when the policy is written as YAML (n), else at
// the policy (at). The parsed policy is kept in r.Parsed.
func (v *validator) parsePolicy(r *Role, doc any, n *yaml.Node, at Pos, label string) {
	p, err := iam.ParsePolicy(doc)
	if err != nil {
		var pe *iam.PathError
		if errors.As(err, &pe) && n != nil && n.Kind == yaml.MappingNode {
			at = nodePos(locate(n, pe.Path))
		}
		v.add(at, "%s: %v", label, err)
		return
	}
	r.Parsed = append(r.Parsed, p)
}

// locate follows path (mapping keys and sequence indexes) from n as far
// as the document goes: the node of the last key found (the key itself,
// so that an unknown name is pointed at), or of the last list entry.
func locate(n *yaml.Node, path []any) *yaml.Node {
	at := n
	for _, step := range path {
		for n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n == nil {
			break
		}
		switch s := step.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return at
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == s {
					at, next = n.Content[i], n.Content[i+1]
					break
				}
			}
			if next == nil {
				return at
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || s < 0 || s >= len(n.Content) {
				return at
			}
			n = n.Content[s]
			at = n
		}
	}
	return at
}
