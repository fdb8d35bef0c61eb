"""A tiny, randomly initialised chat model built offline in seconds, for tests and CPU smoke runs.

`build_tiny_model(path)` writes a Qwen2-style causal LM (hidden 64, 2 layers, 4 heads) and a
byte-level BPE tokenizer trained on a small built-in corpus of Manim-like Python, with a
Qwen-style chat template. It generates gibberish, but it exercises the exact code paths a real
`hf:` model does: chat template, sampling, LoRA adapters, SFT and GRPO.
"""

from __future__ import annotations

from pathlib import Path

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
END_OF_TEXT = "<|endoftext|>"
SPECIAL_TOKENS = [END_OF_TEXT, IM_START, IM_END]

# Qwen-style (ChatML) template; the same one Qwen2.5 uses, minus tools.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_CORPUS = """
from manim import *


class SquareToCircle(Scene):
    def construct(self):
        circle = Circle()
        circle.set_fill(PINK, opacity=0.5)
        square = Square()
        square.rotate(PI / 4)
        self.play(Create(square))
        self.play(Transform(square, circle))
        self.play(FadeOut(square))


class MovingDot(Scene):
    def construct(self):
        axes = Axes(x_range=[-3, 3, 1], y_range=[-2, 2, 1])
        graph = axes.plot(lambda x: np.sin(x), color=BLUE)
        dot = Dot(axes.c2p(0, 0), color=YELLOW)
        label = MathTex(r"y = \\sin(x)").next_to(graph, UP)
        self.add(axes, graph, dot)
        self.play(Write(label), run_time=1.5)
        self.play(MoveAlongPath(dot, graph), rate_func=linear)
        self.wait()


class TextIntro(Scene):
    def construct(self):
        title = Text("Hello, Manim!", font_size=48).to_edge(UP)
        box = SurroundingRectangle(title, color=GREEN, buff=0.2)
        group = VGroup(title, box)
        self.play(FadeIn(group, shift=DOWN))
        self.play(group.animate.scale(0.5).shift(LEFT * 2))
        arrow = Arrow(start=LEFT, end=RIGHT, color=RED)
        self.play(GrowArrow(arrow))
        self.play(Indicate(title), Rotate(box, angle=PI))
        self.wait(0.5)


class NumberLineScene(Scene):
    def construct(self):
        line = NumberLine(x_range=[0, 10, 2], length=8, include_numbers=True)
        tracker = ValueTracker(0)
        pointer = Triangle(fill_opacity=1).scale(0.1).rotate(PI)
        pointer.add_updater(lambda m: m.next_to(line.n2p(tracker.get_value()), UP))
        self.add(line, pointer)
        self.play(tracker.animate.set_value(8), run_time=2)
        for i in range(3):
            self.play(pointer.animate.set_color(ORANGE if i % 2 else PURPLE))
"""

_CHAT_CORPUS = (
    "You are an expert Manim CE developer. Write the scene in <CODE>```python ...```</CODE>.\n"
    "<TEXT_SCRIPT>Draw a blue circle that turns into a red square.</TEXT_SCRIPT>\n"
    "The error was: NameError: name 'ShowCreation' is not defined. Did you mean Create?\n"
)


def tiny_corpus() -> list[str]:
    """The built-in training text: Manim-like Python plus the chat phrasing our prompts use."""
    return [_CORPUS, _CHAT_CORPUS]


def build_tiny_model(
    path: str | Path,
    *,
    vocab_size: int = 1024,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    max_positions: int = 4096,
    seed: int = 0,
) -> Path:
    """Build and save a tiny random Qwen2-style chat model and its tokenizer (offline, ~seconds).

    Args:
        path: Directory to write to (created; existing model files are overwritten).
        vocab_size: BPE vocabulary size, special tokens included (the corpus may yield fewer).
        hidden_size: Model width.
        num_layers: Decoder layers.
        num_heads: Attention heads (key/value heads too).
        max_positions: Longest sequence the model accepts.
        seed: Seed for the random weights, so a given set of arguments always builds the same model.

    Returns:
        The directory, loadable with `AutoModelForCausalLM` / `AutoTokenizer` or as `hf:PATH`.
    """
    try:
        import torch
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
        from transformers import (
            GenerationConfig,
            PreTrainedTokenizerFast,
            Qwen2Config,
            Qwen2ForCausalLM,
        )
    except ImportError as exc:
        raise ImportError(
            f"build_tiny_model needs torch, tokenizers and transformers ({exc}); install them "
            "with: pip install 'manimatic[hf]'"
        ) from exc

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # any byte stays encodable
        show_progress=False,
    )
    bpe.train_from_iterator(tiny_corpus(), trainer=trainer)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token=IM_END,
        pad_token=END_OF_TEXT,
        model_max_length=max_positions,
        padding_side="left",  # decoder-only generation pads on the left
    )
    tokenizer.chat_template = CHAT_TEMPLATE

    im_end_id = tokenizer.convert_tokens_to_ids(IM_END)
    eot_id = tokenizer.convert_tokens_to_ids(END_OF_TEXT)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=im_end_id,
        pad_token_id=eot_id,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[im_end_id, eot_id], pad_token_id=eot_id, bos_token_id=None
    )
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
