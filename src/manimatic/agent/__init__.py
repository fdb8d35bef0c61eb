"""The agent: prompts, code extraction, render feedback, and the vanilla / RITL / RITL-DOC loop.

    from manimatic.agent import generate, RITL
    out = generate("A red circle grows.", "openai:gpt-4.1", RITL(rounds=3), out_dir="out/")
    print(out.success, out.video, out.code_path)

`prompts` and `extract` are the single source of the prompt format and the code extraction; the
trainers import them too, so training and inference see the same text. `protocol` switches
extraction, feedback, preflight, hints, timeouts and code metrics between the study's and ours.
"""

from manimatic.agent.extract import Extraction, extract_code, extract_code_study
from manimatic.agent.feedback import error_summary, render_feedback
from manimatic.agent.prompts import (
    SYSTEM_PROMPT,
    ChatPrompt,
    PromptSet,
    answer_text,
    build_messages,
    chat_prompt,
    doc_pass_messages,
    load_prompts,
    ritl_doc_messages,
    ritl_messages,
)
from manimatic.agent.protocol import PROTOCOLS, Protocol, protocol_from_name
from manimatic.agent.run import MAX_CODE_BYTES, GenerationResult, generate
from manimatic.agent.strategies import (
    RITL,
    STRATEGIES,
    RITLDoc,
    Strategy,
    Vanilla,
    strategy_from_dict,
    strategy_from_name,
)
from manimatic.agent.transcript import Round, Transcript

__all__ = [
    "MAX_CODE_BYTES",
    "PROTOCOLS",
    "RITL",
    "STRATEGIES",
    "SYSTEM_PROMPT",
    "ChatPrompt",
    "Extraction",
    "GenerationResult",
    "PromptSet",
    "Protocol",
    "RITLDoc",
    "Round",
    "Strategy",
    "Transcript",
    "Vanilla",
    "answer_text",
    "build_messages",
    "chat_prompt",
    "doc_pass_messages",
    "error_summary",
    "extract_code",
    "extract_code_study",
    "generate",
    "load_prompts",
    "protocol_from_name",
    "render_feedback",
    "ritl_doc_messages",
    "ritl_messages",
    "strategy_from_dict",
    "strategy_from_name",
]
