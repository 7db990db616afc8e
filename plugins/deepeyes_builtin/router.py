"""The ``pass-rate`` router: DeepEyesV2's curation by what the base model can already do."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from deepeyes_core import (
    ConfigError,
    Rejection,
    RoutedExample,
    Routes,
    Sampling,
    TrainingExample,
    TrainingSettings,
    base_model_passes,
    hookimpl,
    require_sampler,
)

_RATE = (attrs.validators.ge(0.0), attrs.validators.le(1.0))


class PassRateRouter:
    """Samples the base model k times per example: solved reliably -> dropped, sometimes -> RL pool, never -> SFT.

    A pass is a right answer as evaluation scores it (step mode where the example has steps and the
    backend has ``sample_steps``, else the blind exact sequence). Pass rate at or above
    ``reliable_at`` (default 1.0: k of k): rejected as "solved by the base model p/k"; at or below
    ``sft_at_most`` (default 0.0: never solved): kept for cold-start SFT; in between: the RL pool
    (``rl_pool.jsonl``). ``seed`` None: the run's ``[dataset] random_seed``. The backend must be
    able to sample its base model (``trl`` with a pretrained model, ``anthropic``); ``dry-run``
    is refused when the pipeline is built.
    """

    name = "pass-rate"

    @attrs.frozen
    class Options:
        samples: int = attrs.field(default=4, validator=attrs.validators.ge(1))
        temperature: float = attrs.field(default=1.0, validator=attrs.validators.gt(0.0))
        reliable_at: float = attrs.field(default=1.0, validator=_RATE)
        sft_at_most: float = attrs.field(default=0.0, validator=_RATE)
        seed: int | None = None

    def __init__(self, options: Options):
        if options.sft_at_most >= options.reliable_at:
            raise ConfigError(
                f"router {self.name!r}: sft_at_most ({options.sft_at_most}) must be below reliable_at "
                f"({options.reliable_at}), or no example could go to the RL pool"
            )
        self.options = options

    def check(self, backend: object) -> None:
        require_sampler(backend, self.name)

    async def route(
        self, examples: Sequence[TrainingExample], backend: object, settings: TrainingSettings
    ) -> Routes:
        opts = self.options
        seed = settings.seed if opts.seed is None else opts.seed
        sampling = Sampling(opts.samples, opts.temperature, seed)
        sft: list[RoutedExample] = []
        rl_pool: list[RoutedExample] = []
        rejected: list[tuple[RoutedExample, Rejection]] = []
        for item in await base_model_passes(examples, backend, sampling, settings):
            if item.pass_rate >= opts.reliable_at:
                example = item.example
                detail = (f"pass rate {item.pass_rate:.2f} >= reliable_at {opts.reliable_at} "
                          f"({item.mode} mode, temperature {opts.temperature})")
                rejected.append((item, Rejection(f"solved by the base model {item.passes}/{item.samples}", detail,
                                                 example.locations, example.sequence_length, stage="route")))
            elif item.pass_rate <= opts.sft_at_most:
                sft.append(item)
            else:
                rl_pool.append(item)
        settings_used = {"samples": opts.samples, "temperature": opts.temperature, "seed": seed,
                         "reliable_at": opts.reliable_at, "sft_at_most": opts.sft_at_most}
        return Routes(tuple(sft), tuple(rl_pool), tuple(rejected), settings_used)


@hookimpl
def deepeyes_routers():
    return [PassRateRouter]
