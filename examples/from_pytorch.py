"""PyTorch's MNIST example (pytorch/examples, mnist/main.py), run by microdl.

The network, the training loop and the test loop are written as a PyTorch user writes them; only
the import lines marked "# framework" name microdl instead of torch (the test suite runs this
same file with those lines pointing at torch again, from the same initial weights, and compares
the losses). The data comes from microdl.data instead of torchvision: Fashion-MNIST (Debian's
dataset-fashion-mnist package or its official download), or with --quick scikit-learn's 8x8
digits, upscaled to 28x28 (a smoke test: a few seconds, not a measurement).

    python examples/from_pytorch.py [--epochs 1] [--quick]

What differs from the original script, and why:
- data: torchvision's datasets and transforms are not part of microdl (numpy arrays from
  microdl.data, normalized as transforms.Normalize((0.1307,), (0.3081,)) does);
- train() and test() return their losses (the test suite compares them with PyTorch's);
- --epochs defaults to 1 (14 epochs of this network take hours on 2 cores).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, uninstalled

import microdl as torch  # framework
import microdl.nn as nn  # framework
import microdl.nn.functional as F  # framework
import microdl.optim as optim  # framework
from microdl.optim.lr_scheduler import StepLR  # framework
from microdl.utils.data import DataLoader, TensorDataset  # framework


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    losses = []
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % args.log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
            if args.dry_run:
                break
    return losses


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)

    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))
    return test_loss, correct


def load_images(quick):
    """(train, test) as (N, 1, 28, 28) float32 images normalized as the original script does,
    and int64 labels: Fashion-MNIST, or with ``quick`` digits upscaled 3x and padded to 28x28."""
    from microdl.data import digits, fashion_mnist

    if quick:
        (x_train, y_train), (x_test, y_test) = digits()
        def to_28(x):  # 8x8 -> 24x24 (each pixel 3x3) -> 28x28 (2 pixels of border)
            x = np.kron(x.reshape(-1, 8, 8), np.ones((3, 3), np.float32))
            return np.pad(x, ((0, 0), (2, 2), (2, 2)))
        x_train, x_test = to_28(x_train), to_28(x_test)
    else:
        (x_train, y_train), (x_test, y_test) = fashion_mnist()
        x_train, x_test = x_train / np.float32(255), x_test / np.float32(255)
    normalize = lambda x: ((x - 0.1307) / 0.3081).astype(np.float32).reshape(-1, 1, 28, 28)
    return (normalize(x_train), y_train), (normalize(x_test), y_test)


def main(argv=None):
    # Training settings
    parser = argparse.ArgumentParser(description='PyTorch MNIST Example, run by microdl')
    parser.add_argument('--batch-size', type=int, default=64, metavar='N',
                        help='input batch size for training (default: 64)')
    parser.add_argument('--test-batch-size', type=int, default=1000, metavar='N',
                        help='input batch size for testing (default: 1000)')
    parser.add_argument('--epochs', type=int, default=1, metavar='N',
                        help='number of epochs to train (default: 1; the original: 14)')
    parser.add_argument('--lr', type=float, default=1.0, metavar='LR',
                        help='learning rate (default: 1.0)')
    parser.add_argument('--gamma', type=float, default=0.7, metavar='M',
                        help='Learning rate step gamma (default: 0.7)')
    parser.add_argument('--no-cuda', action='store_true', default=False,
                        help='disables CUDA training')
    parser.add_argument('--dry-run', action='store_true', default=False,
                        help='quickly check a single pass')
    parser.add_argument('--seed', type=int, default=1, metavar='S',
                        help='random seed (default: 1)')
    parser.add_argument('--log-interval', type=int, default=10, metavar='N',
                        help='how many batches to wait before logging training status')
    parser.add_argument('--save-model', action='store_true', default=False,
                        help='For Saving the current Model')
    parser.add_argument('--quick', action='store_true', default=False,
                        help='digits instead of Fashion-MNIST, 600 training images, one epoch: '
                             'a smoke test of a few seconds, not a measurement')
    args = parser.parse_args(argv)
    use_cuda = not args.no_cuda and torch.cuda.is_available()

    torch.manual_seed(args.seed)

    device = torch.device("cuda" if use_cuda else "cpu")

    train_kwargs = {'batch_size': args.batch_size, 'shuffle': True}
    test_kwargs = {'batch_size': args.test_batch_size}

    (x_train, y_train), (x_test, y_test) = load_images(args.quick)
    if args.quick:
        x_train, y_train, args.epochs = x_train[:600], y_train[:600], 1
    dataset1 = TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train))
    dataset2 = TensorDataset(torch.from_numpy(x_test), torch.from_numpy(y_test))
    train_loader = DataLoader(dataset1, **train_kwargs)
    test_loader = DataLoader(dataset2, **test_kwargs)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        test_loss, correct = test(model, device, test_loader)
        scheduler.step()
    print(f"{args.epochs} epoch(s) in {time.perf_counter() - start:.0f} s"
          + (" (quick run: not a measurement)" if args.quick else ""))

    if args.save_model:
        torch.save(model.state_dict(), "mnist_cnn.pt")
    return test_loss, correct


if __name__ == '__main__':
    main()
