"""PyTorch (CPU) LSTM row reader, timed as strata's benches/rnn.rs: Fashion-MNIST as 28 steps
of 28 pixels, nn.LSTM(28, 128) then Linear(128, 10) on the last step, Adam 1e-3,
cross-entropy on logits, batch 64. Train steps timed after 20 warm-up steps; inference on
batches of 1024 (eval, inference_mode). Last line: JSON."""
import argparse, json, os, statistics, sys, time
# The peers' shared helpers live beside the project: ../shared/peers from its root.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "peers"))
import common  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--steps", type=int, default=300)
p.add_argument("--b1024-calls", type=int, default=20)
a = p.parse_args()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(a.threads)
torch.manual_seed(0)


class RowReader(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.dense = nn.Linear(128, 10)
        nn.init.xavier_uniform_(self.lstm.weight_ih_l0)
        nn.init.orthogonal_(self.lstm.weight_hh_l0)
        nn.init.zeros_(self.lstm.bias_ih_l0)
        nn.init.zeros_(self.lstm.bias_hh_l0)
        nn.init.xavier_uniform_(self.dense.weight)
        nn.init.zeros_(self.dense.bias)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.dense(out[:, -1])


xtr, ytr, xte, yte = common.load_fashion_mnist()
X = torch.from_numpy(xtr).reshape(-1, 28, 28)
Y = torch.from_numpy(ytr)
model = RowReader()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
perm = torch.randperm(len(X))
model.train()
times = []
for step in range(a.steps + 20):
    idx = perm[(step * 64) % (len(X) - 64):][:64]
    xb, yb = X[idx], Y[idx]
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(xb), yb)
    loss.backward()
    opt.step()
    if step >= 20:
        times.append(time.perf_counter() - t0)
model.eval()
xb = torch.from_numpy(xte[:1024]).reshape(-1, 28, 28)
with torch.inference_mode():
    t1024 = common.time_calls(lambda: model(xb), 3, a.b1024_calls)
print(json.dumps({
    "threads": a.threads, "torch": torch.__version__,
    "train_step_ms_median": 1e3 * statistics.median(times),
    "train_samples_per_s": 64 / statistics.median(times),
    "inference_b1024_samples_per_s": 1024 / t1024,
    "loadavg": os.getloadavg(),
}))
