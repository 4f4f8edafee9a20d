// A TypeScript program using raydask through its generated SDK, run by the Automation API as an inline program:
//   node bin/index.js <up|preview> <stack> <namespace> <rayWorkers> [maxReplicas]
// It prints one JSON line: the update's summary and outputs, or the error.
import * as pulumi from "@pulumi/pulumi";
import * as auto from "@pulumi/pulumi/automation";
import * as raydask from "@raydask/sdk";

function program(namespace: string, workers: number, maxReplicas: number): auto.PulumiFn {
    return async () => {
        const train = new raydask.ray.RayCluster("train", {
            spec: {
                name: "train",
                namespace,
                head: { cpu: "1", memory: "2Gi" },
                workerGroups: [{ name: "cpu", replicas: workers, minReplicas: 1, maxReplicas, cpu: "1", memory: "2Gi" }],
            },
        });
        const etl = new raydask.dask.DaskCluster("etl", {
            spec: { name: "etl", namespace, worker: { replicas: 1 } },
        });
        const state: pulumi.Output<string> = train.status.apply(s => String(s?.["state"] ?? ""));
        return { clientAddress: train.clientAddress, rayState: state, schedulerAddress: etl.schedulerAddress };
    };
}

async function main(): Promise<void> {
    const [action, stackName, namespace, workers, maxReplicas] = process.argv.slice(2);
    const stack = await auto.LocalWorkspace.createOrSelectStack({
        stackName, projectName: "raydask-typescript",
        program: program(namespace, Number(workers), Number(maxReplicas ?? "3")),
    });
    try {
        if (action === "destroy") {
            const res = await stack.destroy();
            console.log(JSON.stringify({ result: res.summary.result }));
        } else if (action === "preview") {
            const res = await stack.preview();
            console.log(JSON.stringify({ changes: res.changeSummary }));
        } else {
            const res = await stack.up();
            const outputs = Object.fromEntries(Object.entries(res.outputs).map(([k, v]) => [k, v.value]));
            console.log(JSON.stringify({ result: res.summary.result, changes: res.summary.resourceChanges, outputs }));
        }
    } catch (e) {
        console.log(JSON.stringify({ error: String(e instanceof Error ? e.message : e) }));
        process.exitCode = 1;
    }
}

main();
