package pulumiyaml

import "gopkg.in/yaml.v3"

// functionLayers translates a function's layers, the ARNs of
// aws:lambda:LayerVersion resources of the program (${layer.arn}), into
// the spec's layers: each layer's code archive, in order.
func (t *translation) functionLayers(r *resource, m *yaml.Node) {
	l := t.l
	v, n, ok := l.prop(r, "layers")
	if !ok {
		return
	}
	list, isList := v.([]any)
	if !isList {
		l.errorf(n, "resource %s: layers must be a list of layer version ARNs, not %s", r.name, kind(v))
		return
	}
	var paths []any
	for i, e := range list {
		en := n
		if n.Kind == yaml.SequenceNode && i < len(n.Content) {
			en = n.Content[i]
		}
		s, isStr := e.(string)
		if !isStr {
			l.errorf(en, "resource %s: layers[%d] must be a layer version ARN, not %s", r.name, i, kind(e))
			continue
		}
		layer := l.find(s, tLayer)
		if layer == nil {
			l.errorf(en, "resource %s: layers[%d] %q does not refer to a %s of this program (Portico runs a layer from its code)", r.name, i, s, tLayer)
			continue
		}
		cv, cn, ok := l.prop(layer, "code")
		a, isArchive := cv.(archive)
		switch {
		case !ok && cn == nil:
			l.errorf(layer.node, "resource %s: code is required", layer.name)
		case ok && !isArchive:
			l.errorf(cn, "resource %s: code must be an archive (fn::fileArchive or fn::assetArchive), not %s", layer.name, kind(cv))
		case ok:
			paths = append(paths, codePath(a.path))
		}
	}
	if len(paths) > 0 {
		set(m, "layers", paths, pos(n))
	}
}
