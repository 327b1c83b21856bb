"""The actors of ODD section 2, one module per family. Each actor is a Mesa agent with its own
state and an explainable monthly decision rule (``step``); ISIS cells are many agents whose hot
state lives in arrays (see ``isis``)."""

from borderscen.actors.baghdad import Baghdad
from borderscen.actors.camps import SDF, Camp
from borderscen.actors.coalition import Coalition
from borderscen.actors.damascus import Damascus
from borderscen.actors.isis import ISISCell, IsisCells
from borderscen.actors.regional import Gulf, Iran, Militias, Turkey

__all__ = ["SDF", "Baghdad", "Camp", "Coalition", "Damascus", "Gulf", "ISISCell", "Iran",
           "IsisCells", "Militias", "Turkey"]
