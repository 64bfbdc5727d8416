package pulumiyaml

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/portico-dev/portico/internal/spec"
)

// Lambda permissions, asynchronous invocation configs and S3 bucket
// notifications.

const (
	tEventInvokeConfig  = "aws:lambda:FunctionEventInvokeConfig"
	tBucketNotification = "aws:s3:BucketNotification"

	apiGatewayPrincipal = "apigateway.amazonaws.com"
)

// permission adds a statement to its function's permissions: the
// function's resource-based policy. API Gateway's permissions
// (apigateway.amazonaws.com) are left out: the spec's integrations imply
// them, and portico export pulumi writes them back.
func (t *translation) permission(r *resource) {
	l := t.l
	fn := l.refTo(r, "function", true, tFunction)
	principal, pn, _ := l.str(r, "principal", true)
	action, an, _ := l.str(r, "action", true)
	if fn == nil || principal == "" || action == "" || principal == apiGatewayPrincipal {
		return
	}
	m := &yaml.Node{Kind: yaml.MappingNode}
	if s, n, ok := l.str(r, "statementId", false); ok {
		set(m, "statementId", s, pos(n))
	} else {
		set(m, "statementId", r.name, pos(r.node))
	}
	set(m, "action", action, pos(an))
	set(m, "principal", principal, pos(pn))
	for _, k := range []string{"sourceArn", "sourceAccount"} {
		if s, n, ok := l.str(r, k, false); ok {
			set(m, k, s, pos(n))
		}
	}
	t.appendItem(t.b.mapping(pos(nameNode(fn, "name")), "functions", t.key[fn]), "permissions", m, pos(r.node))
}

// eventInvokeConfig sets its function's eventInvokeConfig; destinations
// must be functions of the program.
func (t *translation) eventInvokeConfig(r *resource) {
	l := t.l
	fn := l.refTo(r, "functionName", true, tFunction)
	if q, n, ok := l.str(r, "qualifier", false); ok && q != "$LATEST" {
		l.errorf(n, "resource %s: qualifier %q: Portico runs $LATEST only", r.name, q)
	}
	if fn == nil {
		return
	}
	m := t.b.mapping(pos(r.node), "functions", t.key[fn], "eventInvokeConfig")
	for _, k := range []string{"maximumRetryAttempts", "maximumEventAgeInSeconds"} {
		if i, n, ok := l.integer(r, k); ok {
			set(m, k, i, pos(n))
		}
	}
	v, n, ok := l.prop(r, "destinationConfig")
	if !ok {
		return
	}
	dc, ok := l.nested(r, "destinationConfig", v, n, "onSuccess", "onFailure")
	if !ok {
		return
	}
	for _, k := range []string{"onSuccess", "onFailure"} {
		dv, dn, ok := dc.get(k)
		if !ok {
			continue
		}
		d, ok := l.nested(r, "destinationConfig."+k, dv, dn, "destination")
		if !ok {
			continue
		}
		arn, an, ok := d.str("destination", true)
		if !ok {
			continue
		}
		target := l.find(arn, tFunction)
		if target == nil {
			l.errorf(an, "resource %s: destinationConfig.%s.destination %q must be the ARN of an aws:lambda:Function of this program (Portico delivers records to functions)", r.name, k, arn)
			continue
		}
		dm := t.b.mapping(pos(dn), "functions", t.key[fn], "eventInvokeConfig", "destinationConfig", k)
		set(dm, "destination", t.key[target], pos(an))
	}
}

// bucketNotification adds each of its lambdaFunctions to the bucket's
// notifications.
func (t *translation) bucketNotification(r *resource) {
	l := t.l
	bucket := l.refTo(r, "bucket", true, tBucket, tBucketV2)
	for _, k := range []string{"topics", "queues", "eventbridge"} {
		if _, n, ok := l.prop(r, k); ok {
			l.errorf(n, "resource %s: %s: Portico delivers bucket notifications to Lambda functions only (lambdaFunctions)", r.name, k)
		}
	}
	v, n, ok := l.prop(r, "lambdaFunctions")
	if !ok || bucket == nil {
		return
	}
	list, isList := v.([]any)
	if !isList {
		l.errorf(n, "resource %s: lambdaFunctions must be a list, not %s", r.name, kind(v))
		return
	}
	bm := t.b.mapping(pos(bucket.node), "buckets", t.key[bucket])
	for i, e := range list {
		en := n
		if n.Kind == yaml.SequenceNode && i < len(n.Content) {
			en = n.Content[i]
		}
		path := fmt.Sprintf("lambdaFunctions[%d]", i)
		f, ok := l.nested(r, path, e, en, "lambdaFunctionArn", "events", "filterPrefix", "filterSuffix", "id")
		if !ok {
			continue
		}
		arn, an, ok := f.str("lambdaFunctionArn", true)
		if !ok {
			continue
		}
		target := l.find(arn, tFunction)
		if target == nil {
			l.errorf(an, "resource %s: %s.lambdaFunctionArn %q does not refer to a aws:lambda:Function of this program", r.name, path, arn)
			continue
		}
		m := &yaml.Node{Kind: yaml.MappingNode}
		if s, sn, ok := f.str("id", false); ok {
			set(m, "id", s, pos(sn))
		}
		set(m, "function", t.key[target], pos(an))
		if evs, evn, ok := f.strings("events"); ok {
			set(m, "events", evs, pos(evn))
		}
		for _, k := range []string{"filterPrefix", "filterSuffix"} {
			if s, sn, ok := f.str(k, false); ok {
				set(m, k, s, pos(sn))
			}
		}
		t.appendItem(bm, "notifications", m, pos(en))
	}
}

// appendItem appends the mapping item to the list field of mapping m,
// annotated with p.
func (t *translation) appendItem(m *yaml.Node, field string, item *yaml.Node, p spec.Pos) {
	var list *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == field {
			list = m.Content[i+1]
		}
	}
	if list == nil {
		list = &yaml.Node{Kind: yaml.SequenceNode}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: field}, list)
	}
	item.HeadComment = at(p)
	list.Content = append(list.Content, item)
}
