package awskms

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kmsenc/kmsenc/providers"
)

// urlParams are the query parameters of an awskms:// URL.
var urlParams = []string{"region", "profile", "endpoint"}

// open is the [providers.Opener] of awskms:// URLs. It loads the SDK's
// default configuration (environment and shared files; it makes no request)
// with the URL's region and profile, and points the client at the URL's
// endpoint.
func open(ctx context.Context, u *url.URL) (providers.Provider, error) {
	keyID, err := parseKeyID(u)
	if err != nil {
		return nil, err
	}
	q, err := parseQuery(u)
	if err != nil {
		return nil, err
	}
	region := q["region"]
	if r := arnRegion(keyID); r != "" {
		if region != "" && region != r {
			return nil, fmt.Errorf("awskms: the key ARN is in region %s but the URL says region=%s; remove the region parameter", r, region)
		}
		region = r
	}
	var loadOpts []func(*config.LoadOptions) error
	if region != "" {
		loadOpts = append(loadOpts, config.WithRegion(region))
	}
	if profile := q["profile"]; profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("awskms: loading the AWS SDK's configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("awskms: no AWS region for key %s: add region=<region> to the key URL (awskms://alias/app?region=us-east-1) or set AWS_REGION", keyID)
	}
	endpoint := q["endpoint"]
	client := kms.NewFromConfig(cfg, func(o *kms.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.Retryer = aws.NopRetryer{}
	})
	return New(client, keyID), nil
}

// parseKeyID reads the key of gocloud.dev's URL forms: the host and path
// ("alias/app", a key id), or the path alone after three slashes (an ARN,
// whose colons can't stand in a host).
func parseKeyID(u *url.URL) (string, error) {
	if u.Opaque != "" {
		return "", errors.New("awskms: a key URL starts with awskms:// (awskms://alias/app, awskms:///arn:aws:kms:...)")
	}
	if u.User != nil {
		return "", errors.New("awskms: a key URL holds no credentials; the SDK's default chain provides them")
	}
	keyID := strings.TrimPrefix(path.Join(u.Host, u.Path), "/")
	if keyID == "" || keyID == "." {
		return "", errors.New("awskms: the key URL names no key; use awskms://alias/<name>, awskms://<key id> or awskms:///<key ARN>")
	}
	return keyID, nil
}

func parseQuery(u *url.URL) (map[string]string, error) {
	q := make(map[string]string)
	for name, values := range u.Query() {
		known := false
		for _, p := range urlParams {
			known = known || p == name
		}
		if !known {
			return nil, fmt.Errorf("awskms: unknown parameter %q in an awskms:// URL; the parameters are %s", name, strings.Join(urlParams, ", "))
		}
		if len(values) != 1 || values[0] == "" {
			return nil, fmt.Errorf("awskms: the %s parameter takes one value", name)
		}
		q[name] = values[0]
	}
	if ep := q["endpoint"]; ep != "" {
		e, err := url.Parse(ep)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return nil, errors.New("awskms: the endpoint parameter must be an http:// or https:// URL, e.g. endpoint=http://127.0.0.1:4566")
		}
	}
	return q, nil
}

// arnRegion returns the region of a key or alias ARN
// (arn:aws:kms:<region>:<account>:key/<id>), or "".
func arnRegion(keyID string) string {
	parts := strings.SplitN(keyID, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && parts[2] == "kms" {
		return parts[3]
	}
	return ""
}
