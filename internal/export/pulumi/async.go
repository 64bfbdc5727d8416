package pulumi

import (
	"fmt"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
)

// Functions' permissions (other than API Gateway's, which the integrations
// imply and program writes), their asynchronous invocation configs, and
// bucket notifications.

// markAsync marks the variables the resources of asyncResources use.
func (g *gen) markAsync(fnVar, bucketVar map[string]string) {
	for _, name := range sortedKeys(g.sp.Functions) {
		f := g.sp.Functions[name]
		if c := f.EventInvokeConfig; c != nil {
			g.used[fnVar[name]] = true
			if d := c.DestinationConfig; d != nil && (d.OnSuccess != nil || d.OnFailure != nil) {
				g.destinations = true
				for _, dst := range []*spec.Destination{d.OnSuccess, d.OnFailure} {
					if dst != nil {
						g.used[fnVar[dst.Destination]] = true
					}
				}
			}
		}
		if len(f.Permissions) > 0 {
			g.used[fnVar[name]] = true
		}
		for _, p := range f.Permissions {
			if b, ok := bucketOfARN(g.sp, p.SourceArn); ok {
				g.used[bucketVar[b]] = true
			}
		}
	}
	for _, name := range sortedKeys(g.sp.Buckets) {
		for _, n := range g.sp.Buckets[name].Notifications {
			g.used[bucketVar[name]] = true
			g.used[fnVar[n.Function]] = true
		}
	}
}

// bucketOfARN names the spec bucket whose ARN is arn.
func bucketOfARN(sp *spec.Spec, arn string) (string, bool) {
	name, ok := strings.CutPrefix(arn, "arn:aws:s3:::")
	if !ok || sp.Buckets[name] == nil {
		return "", false
	}
	return name, true
}

// asyncResources writes the permissions, event invoke configs and bucket
// notifications, after the functions and buckets they refer to.
func (g *gen) asyncResources(fnVar, bucketVar map[string]string, roleOf func(fn string) string) {
	sp := g.sp
	s3Perms := map[string][]string{} // function -> its permission variables for S3
	for _, name := range sortedKeys(sp.Functions) {
		f := sp.Functions[name]
		if len(f.Permissions) > 0 {
			g.p("// Who else may invoke function %s (its resource-based policy).\n", name)
		}
		for i, p := range f.Permissions {
			v := g.ident("perm", name, fmt.Sprint(i))
			var args strings.Builder
			fmt.Fprintf(&args, "Action: pulumi.String(%s),\nFunction: %s.Name,\nPrincipal: pulumi.String(%s),\nStatementId: pulumi.String(%s),\n",
				q(p.Action), fnVar[name], q(p.Principal), q(p.StatementID))
			if b, ok := bucketOfARN(sp, p.SourceArn); ok {
				fmt.Fprintf(&args, "SourceArn: %s.Arn,\n", bucketVar[b])
			} else if p.SourceArn != "" {
				fmt.Fprintf(&args, "SourceArn: pulumi.String(%s),\n", q(p.SourceArn))
			}
			if p.SourceAccount != "" {
				fmt.Fprintf(&args, "SourceAccount: pulumi.String(%s),\n", q(p.SourceAccount))
			}
			if p.Principal == spec.S3Principal {
				g.used[v] = true
				s3Perms[name] = append(s3Perms[name], v)
			}
			g.decl(v, fmt.Sprintf("lambda.NewPermission(ctx, %s, &lambda.PermissionArgs{\n%s})", q(name+"-"+p.StatementID), args.String()))
		}
		if c := f.EventInvokeConfig; c != nil {
			var args strings.Builder
			policy := ""
			fmt.Fprintf(&args, "FunctionName: %s.Name,\n", fnVar[name])
			if c.MaximumRetryAttempts != nil {
				fmt.Fprintf(&args, "MaximumRetryAttempts: pulumi.Int(%d),\n", *c.MaximumRetryAttempts)
			}
			if c.MaximumEventAgeInSeconds != nil {
				fmt.Fprintf(&args, "MaximumEventAgeInSeconds: pulumi.Int(%d),\n", *c.MaximumEventAgeInSeconds)
			}
			if d := c.DestinationConfig; d != nil {
				args.WriteString("DestinationConfig: &lambda.FunctionEventInvokeConfigDestinationConfigArgs{\n")
				if d.OnSuccess != nil {
					fmt.Fprintf(&args, "OnSuccess: &lambda.FunctionEventInvokeConfigDestinationConfigOnSuccessArgs{\nDestination: %s.Arn,\n},\n", fnVar[d.OnSuccess.Destination])
				}
				if d.OnFailure != nil {
					fmt.Fprintf(&args, "OnFailure: &lambda.FunctionEventInvokeConfigDestinationConfigOnFailureArgs{\nDestination: %s.Arn,\n},\n", fnVar[d.OnFailure.Destination])
				}
				args.WriteString("},\n")
			}
			if d := c.DestinationConfig; d != nil && (d.OnSuccess != nil || d.OnFailure != nil) {
				// Lambda invokes destinations with the function's role.
				var arns []string
				for _, dst := range []*spec.Destination{d.OnSuccess, d.OnFailure} {
					if dst != nil {
						arns = append(arns, fnVar[dst.Destination]+".Arn")
					}
				}
				g.p("// Lambda sends function %s's invocation records with its role.\n", name)
				policy = g.ident("destinations", name)
				g.used[policy] = true
				g.decl(policy, fmt.Sprintf("iam.NewRolePolicy(ctx, %s, &iam.RolePolicyArgs{\nRole: %s.Name,\nPolicy: pulumi.All(%s).ApplyT(func(arns []interface{}) (string, error) {\nreturn destinationPolicy(arns), nil\n}).(pulumi.StringOutput),\n})",
					q(name+"-destinations"), roleOf(name), strings.Join(arns, ", ")))
			}
			g.p("// Asynchronous invocation of function %s: retries, event age, destinations.\n", name)
			opts := ""
			if policy != "" {
				opts = fmt.Sprintf(", pulumi.DependsOn([]pulumi.Resource{%s})", policy)
			}
			g.decl("", fmt.Sprintf("lambda.NewFunctionEventInvokeConfig(ctx, %s, &lambda.FunctionEventInvokeConfigArgs{\n%s}%s)", q(name+"-async"), args.String(), opts))
		}
		if len(f.Permissions) > 0 || f.EventInvokeConfig != nil {
			g.p("\n")
		}
	}
	for _, name := range sortedKeys(sp.Buckets) {
		b := sp.Buckets[name]
		if len(b.Notifications) == 0 {
			continue
		}
		var args, deps strings.Builder
		fmt.Fprintf(&args, "Bucket: %s.Bucket,\nLambdaFunctions: s3.BucketNotificationLambdaFunctionArray{\n", bucketVar[name])
		seen := map[string]bool{}
		for _, n := range b.Notifications {
			fmt.Fprintf(&args, "&s3.BucketNotificationLambdaFunctionArgs{\nId: pulumi.String(%s),\nLambdaFunctionArn: %s.Arn,\nEvents: %s,\n",
				q(n.ID), fnVar[n.Function], strArray(n.Events))
			if n.FilterPrefix != "" {
				fmt.Fprintf(&args, "FilterPrefix: pulumi.String(%s),\n", q(n.FilterPrefix))
			}
			if n.FilterSuffix != "" {
				fmt.Fprintf(&args, "FilterSuffix: pulumi.String(%s),\n", q(n.FilterSuffix))
			}
			args.WriteString("},\n")
			if !seen[n.Function] {
				seen[n.Function] = true
				for _, v := range s3Perms[n.Function] {
					deps.WriteString(v + ", ")
				}
			}
		}
		args.WriteString("},\n")
		g.p("// Bucket %s's event notifications; S3 checks the functions' permissions first.\n", name)
		g.decl("", fmt.Sprintf("s3.NewBucketNotification(ctx, %s, &s3.BucketNotificationArgs{\n%s}, pulumi.DependsOn([]pulumi.Resource{%s}))",
			q(name+"-notifications"), args.String(), strings.TrimSuffix(deps.String(), ", ")))
		g.p("\n")
	}
}

// DestinationsSid marks the role policy the exporter adds so that a
// function may invoke its destinations.
const DestinationsSid = "PorticoAsyncDestinations"

// destinationPolicyFunc is the helper the program uses to write that
// policy.
const destinationPolicyFunc = `
// destinationPolicy allows invoking the given function ARNs (a function's
// asynchronous invocation destinations).
func destinationPolicy(arns []interface{}) string {
	b, _ := json.Marshal(map[string]interface{}{
		"Version": "2012-10-17",
		"Statement": []map[string]interface{}{{
			"Sid":      "` + DestinationsSid + `",
			"Effect":   "Allow",
			"Action":   "lambda:InvokeFunction",
			"Resource": arns,
		}},
	})
	return string(b)
}
`
