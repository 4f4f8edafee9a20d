// A Go program using raydask through its generated SDK, run by the Automation API as an inline program:
//
//	go run . <up|preview|destroy> <stack> <namespace> <rayWorkers> [maxReplicas]
//
// It prints one JSON line: the update's summary and outputs, or the error.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"raydask.local/sdk/go/raydask"
	"raydask.local/sdk/go/raydask/dask"
	"raydask.local/sdk/go/raydask/ray"
)

func program(namespace string, workers, maxReplicas int) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		train, err := ray.NewRayCluster(ctx, "train", &ray.RayClusterArgs{
			Spec: &raydask.RayClusterSpecArgs{
				Name:      pulumi.String("train"),
				Namespace: pulumi.String(namespace),
				Head:      &raydask.HeadSpecArgs{Cpu: pulumi.String("1"), Memory: pulumi.String("2Gi")},
				WorkerGroups: raydask.WorkerGroupSpecArray{&raydask.WorkerGroupSpecArgs{
					Name: pulumi.String("cpu"), Replicas: pulumi.Int(workers), MinReplicas: pulumi.Int(1),
					MaxReplicas: pulumi.Int(maxReplicas), Cpu: pulumi.String("1"), Memory: pulumi.String("2Gi"),
				}},
			},
		})
		if err != nil {
			return err
		}
		etl, err := dask.NewDaskCluster(ctx, "etl", &dask.DaskClusterArgs{
			Spec: &raydask.DaskClusterSpecArgs{
				Name:      pulumi.String("etl"),
				Namespace: pulumi.String(namespace),
				Worker:    &raydask.DaskWorkerSpecArgs{Replicas: pulumi.Int(1)},
			},
		})
		if err != nil {
			return err
		}
		ctx.Export("clientAddress", train.ClientAddress)
		ctx.Export("rayState", train.Status.ApplyT(func(status map[string]interface{}) string {
			return fmt.Sprint(status["state"])
		}))
		ctx.Export("schedulerAddress", etl.SchedulerAddress)
		return nil
	}
}

func main() {
	action, stackName, namespace := os.Args[1], os.Args[2], os.Args[3]
	workers, _ := strconv.Atoi(os.Args[4])
	maxReplicas := 3
	if len(os.Args) > 5 {
		maxReplicas, _ = strconv.Atoi(os.Args[5])
	}
	ctx := context.Background()
	out := json.NewEncoder(os.Stdout)
	fail := func(err error) {
		_ = out.Encode(map[string]string{"error": err.Error()})
		os.Exit(1)
	}
	stack, err := auto.UpsertStackInlineSource(ctx, stackName, "raydask-go", program(namespace, workers, maxReplicas))
	if err != nil {
		fail(err)
	}
	switch action {
	case "destroy":
		res, err := stack.Destroy(ctx)
		if err != nil {
			fail(err)
		}
		_ = out.Encode(map[string]any{"result": res.Summary.Result})
	case "preview":
		res, err := stack.Preview(ctx)
		if err != nil {
			fail(err)
		}
		_ = out.Encode(map[string]any{"changes": res.ChangeSummary})
	default:
		res, err := stack.Up(ctx)
		if err != nil {
			fail(err)
		}
		outputs := map[string]any{}
		for k, v := range res.Outputs {
			outputs[k] = v.Value
		}
		_ = out.Encode(map[string]any{"result": res.Summary.Result, "changes": res.Summary.ResourceChanges, "outputs": outputs})
	}
}
