"""`python -m twdne.devices`: prints the CUDA devices torch sees as JSON, for --devices auto."""

import json


def main():
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    names = [torch.cuda.get_device_name(i) for i in range(count)]
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "cuda": count,
                "names": names,
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
