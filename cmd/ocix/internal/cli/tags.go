package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/reference"
)

// TagsOptions are the tags command's inputs.
type TagsOptions struct {
	Repository     string
	OmitDigestTags bool
	Sort           string
	Filter         string
}

// TagList is what tags prints; --format json and templates see it.
type TagList struct {
	Repository string   `json:"repository"`
	Tags       []string `json:"tags"`
}

// NewCmdTags builds `ocix tags`. runF replaces the behaviour in tests.
func NewCmdTags(f *Factory, runF func(context.Context, *Factory, *TagsOptions) error) *cobra.Command {
	opts := &TagsOptions{}
	if runF == nil {
		runF = tagsRun
	}
	cmd := &cobra.Command{
		Use:   "tags REPOSITORY",
		Short: "List every tag of a repository",
		Long: `List every tag of an image repository in a registry, following every page,
one per line in the order the registry gives (like crane ls).`,
		Example: `  ocix tags busybox
  ocix --backend crane tags 127.0.0.1:5000/team/app --sort semver
  ocix tags ghcr.io/org/app --omit-digest-tags --filter '^v1\.'`,
		Args: args("REPOSITORY"),
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.Repository = a[0]
			return runF(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.OmitDigestTags, "omit-digest-tags", false, "drop sha256-….sig/.att/.sbom style tags")
	cmd.Flags().StringVar(&opts.Sort, "sort", "", "order: lexical or semver (default: as the registry lists them)")
	cmd.Flags().StringVar(&opts.Filter, "filter", "", "keep only tags matching this regular expression")
	return cmd
}

func tagsRun(ctx context.Context, f *Factory, opts *TagsOptions) error {
	repo, err := reference.ParseRepository(opts.Repository)
	if err != nil {
		return &core.UsageError{Err: err}
	}
	shape := core.TagOptions{OmitDigestTags: opts.OmitDigestTags}
	if shape.Sort, err = core.ParseTagSort(opts.Sort); err != nil {
		return err
	}
	if shape.Filter, err = core.ParseTagFilter(opts.Filter); err != nil {
		return err
	}
	tags, err := f.Core.ListTags(ctxOrBackground(ctx), f.BackendFor(core.CapTags), core.TagsRequest{
		Repository: repo.Repository,
		Endpoints:  f.Registries().Endpoints(repo.Registry),
	})
	if err != nil {
		return err
	}
	list := TagList{Repository: repo.Name(), Tags: shape.Apply(tags)}
	return render(f.Streams.Out, f.Flags.Format, list, func(w io.Writer) error {
		for _, t := range list.Tags {
			if _, err := fmt.Fprintln(w, t); err != nil {
				return err
			}
		}
		return nil
	})
}
